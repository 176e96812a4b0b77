/**
 * Client-side redaction with the server's policy file format (`deploy/trace-allowlist.yaml`).
 *
 * The package ships a copy of the server's default policy (`policy/trace-allowlist.yaml`, kept equal to
 * `deploy/trace-allowlist.yaml` by a test) and reads another file of the same format when
 * `TRACEFOUNDRY_REDACTION_POLICY` names one. Modes: `off` masks nothing, `standard` masks patterns of class
 * `credential`, `strict` masks `credential` and `personal` patterns. A match becomes
 * `[REDACTED:<name>]`; when the regex has a group named `secret`, only that group is replaced.
 *
 * The policy's regexes are Python regular expressions. `pythonRegexToJs` translates the subset that the
 * policy uses into an equivalent JavaScript RegExp with the `u` flag: leading `(?i)`/`(?m)`/`(?s)`,
 * scoped `(?i:…)` (Node 20 has no RegExp modifiers, and Python's IGNORECASE also matches `İ ı ſ K`, so
 * case-insensitivity is spelt out as classes), `(?P<name>…)`, `\A`, `\Z`, Python's `$` (which also matches
 * before a final newline), and the Unicode meaning Python gives `\d`, `\w`, `\s` and `\b`. Known limits:
 * scoped flags other than `i`, `\N{…}`, conditional groups, possessive quantifiers and case-insensitive
 * non-ASCII letters are refused with an error, not guessed.
 */

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

import type { RedactionMode } from "./config.js";

export type PatternClass = "credential" | "personal";

export interface Pattern {
  name: string;
  patternClass: PatternClass;
  regex: RegExp;
  hints: string[];
  /** Text of at most this many characters is scanned whether or not a hint occurs. */
  hintsAboveChars: number;
  check: "luhn" | undefined;
}

export class PolicyError extends Error {
  override name = "PolicyError";
}

/** The policy shipped inside the package (a copy of the server's `deploy/trace-allowlist.yaml`). */
export const DEFAULT_POLICY_FILE = packagePolicyFile();

function packagePolicyFile(): string {
  // `dist/redaction.js` in the package, `build-test/src/redaction.js` in the tests: the nearest
  // `policy/` folder above this module is the package's.
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let level = 0; level < 4; level++) {
    const candidate = join(directory, "policy", "trace-allowlist.yaml");
    if (existsSync(candidate)) return candidate;
    directory = dirname(directory);
  }
  return join(dirname(fileURLToPath(import.meta.url)), "..", "policy", "trace-allowlist.yaml");
}

export class Redactor {
  readonly mode: RedactionMode;
  readonly patterns: readonly Pattern[];

  constructor(patterns: readonly Pattern[], mode: RedactionMode) {
    this.mode = mode;
    this.patterns = patterns.filter((pattern) => applies(pattern.patternClass, mode));
  }

  /** The text with every applicable match masked, and whether anything was masked. */
  redact(text: string): { text: string; redacted: boolean } {
    let redacted = false;
    // Hints are looked for in the text as it came in, not as earlier patterns left it: the server does so,
    // and a mask such as `[REDACTED:openai_api_key]` would otherwise wake up other patterns' hints.
    const lowered = text.toLowerCase();
    // Python counts code points, not UTF-16 units: the server's `hints_above_chars` compares that count.
    const length = codePoints(text);
    for (const pattern of this.patterns) {
      if (
        pattern.hints.length > 0 &&
        length > pattern.hintsAboveChars &&
        !pattern.hints.some((hint) => lowered.includes(hint))
      ) {
        continue;
      }
      const result = substitute(pattern, text);
      text = result.text;
      redacted = redacted || result.count > 0;
    }
    return { text, redacted };
  }
}

export function loadPatterns(path: string = DEFAULT_POLICY_FILE): Pattern[] {
  return parsePatterns(parse(readFileSync(path, "utf-8")) as unknown);
}

export function buildRedactor(mode: RedactionMode, policyFile?: string): Redactor {
  return new Redactor(loadPatterns(policyFile ?? DEFAULT_POLICY_FILE), mode);
}

export function parsePatterns(policy: unknown): Pattern[] {
  if (policy === null || policy === undefined) return [];
  if (typeof policy !== "object") throw new PolicyError("the policy must be a mapping");
  const entries = (policy as { patterns?: unknown }).patterns ?? [];
  if (!Array.isArray(entries)) throw new PolicyError("`patterns` must be a list");
  return entries.map((entry: unknown, index) => {
    if (typeof entry !== "object" || entry === null) throw new PolicyError(`patterns[${index}] must be a mapping`);
    const { name, regex, hints, check } = entry as Record<string, unknown>;
    const hintsAboveChars = (entry as Record<string, unknown>).hints_above_chars ?? 0;
    const patternClass = (entry as Record<string, unknown>).class ?? "credential";
    if (typeof name !== "string" || !name) throw new PolicyError(`patterns[${index}] needs a name`);
    if (typeof regex !== "string") throw new PolicyError(`pattern ${name} needs a regex`);
    if (patternClass !== "credential" && patternClass !== "personal") {
      throw new PolicyError(`pattern ${name}: class must be credential or personal`);
    }
    if (check !== undefined && check !== "luhn") throw new PolicyError(`pattern ${name}: unknown check ${JSON.stringify(check)}`);
    if (typeof hintsAboveChars !== "number" || !Number.isInteger(hintsAboveChars) || hintsAboveChars < 0) {
      throw new PolicyError(`pattern ${name}: hints_above_chars must be a whole number`);
    }
    if (hints !== undefined && !(Array.isArray(hints) && hints.every((hint) => typeof hint === "string"))) {
      throw new PolicyError(`pattern ${name}: hints must be a list of strings`);
    }
    let compiled: RegExp;
    try {
      compiled = pythonRegexToJs(regex);
    } catch (error) {
      throw new PolicyError(`pattern ${name}: ${(error as Error).message}`);
    }
    return {
      name,
      patternClass,
      regex: compiled,
      hints: (hints ?? []).map((hint) => hint.toLowerCase()),
      hintsAboveChars,
      check,
    };
  });
}

function applies(patternClass: PatternClass, mode: RedactionMode): boolean {
  if (mode === "off") return false;
  if (mode === "strict") return true;
  return patternClass === "credential";
}

function substitute(pattern: Pattern, text: string): { text: string; count: number } {
  let output = "";
  let last = 0;
  let count = 0;
  const replacement = `[REDACTED:${pattern.name}]`;
  for (const match of text.matchAll(pattern.regex)) {
    const start = match.index;
    const whole = match[0];
    if (pattern.check === "luhn" && !luhnValid(whole)) continue;
    const secret = match.indices?.groups?.secret;
    if (secret) {
      output += text.slice(last, secret[0]) + replacement + text.slice(secret[1], start + whole.length);
    } else if (match.groups && "secret" in match.groups) {
      // The group exists but did not take part in this match: Python keeps the match as it was.
      output += text.slice(last, start + whole.length);
      continue;
    } else {
      output += text.slice(last, start) + replacement;
    }
    last = start + whole.length;
    count += 1;
  }
  return { text: output + text.slice(last), count };
}

function codePoints(text: string): number {
  let count = text.length;
  // Each surrogate pair is two UTF-16 units but one code point.
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) count -= 1;
  }
  return count;
}

export function luhnValid(candidate: string): boolean {
  const digits = [...candidate].filter((char) => char >= "0" && char <= "9").map(Number);
  if (digits.length === 0) return false;
  let sum = 0;
  digits.reverse().forEach((digit, index) => {
    let value = digit;
    if (index % 2 === 1) {
      value *= 2;
      if (value > 9) value -= 9;
    }
    sum += value;
  });
  return sum % 10 === 0;
}

// Python's Unicode `\w`: letters, digits and other numbers, and the underscore.
const WORD = "\\p{L}\\p{N}_";
const DIGIT = "\\p{Nd}";
// Python's `\s` (str.isspace); JavaScript's differs: it has U+FEFF but not U+001C-U+001F or U+0085.
const SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const SYNTAX = new Set([..."^$\\.*+?()[]{}|/"]);
const CLASS_SYNTAX = new Set([..."\\]^-["]);
// Python's IGNORECASE matches these non-ASCII letters to ASCII ones; JavaScript's `i` flag knows only
// the last two, so case-insensitivity is spelt out as character classes instead of using the flag.
const CASE_EXTRAS: Record<string, string> = { i: "\\u0130\\u0131", k: "\\u212a", s: "\\u017f" };
const GROUP = /^\(\?(?:P<([A-Za-z_][A-Za-z0-9_]*)>|P=([A-Za-z_][A-Za-z0-9_]*)\)|([a-zA-Z]*)(?:-([a-zA-Z]+))?:|[=!]|<[=!]|<([A-Za-z_][A-Za-z0-9_]*)>)/;

/** Translate a Python `re` pattern into a JavaScript RegExp (global, with indices and the `u` flag). */
export function pythonRegexToJs(source: string): RegExp {
  let flags = "";
  let ignoreCase = false;
  let rest = source;
  const leading = /^\(\?([a-zA-Z]+)\)/.exec(rest);
  if (leading?.[1]) {
    for (const flag of leading[1]) {
      if (flag === "i") ignoreCase = true;
      else if (flag === "m" || flag === "s") flags += flag;
      else if (flag !== "u") throw new Error(`inline flag (?${flag}) has no JavaScript equivalent`);
    }
    rest = rest.slice(leading[0].length);
  }
  const multiline = flags.includes("m");
  // One entry per open group: the case-insensitivity inside it.
  const groups: boolean[] = [];
  let out = "";
  for (let i = 0; i < rest.length; i++) {
    const char = rest[i] as string;
    if (char === "\\") {
      const next = rest[i + 1];
      if (next === undefined) throw new Error("pattern ends with a backslash");
      i += 1;
      out += translateEscape(next, false, multiline);
      continue;
    }
    if (char === "[") {
      const close = classEnd(rest, i);
      out += `[${translateClass(rest.slice(i + 1, close), ignoreCase, multiline)}]`;
      i = close;
      continue;
    }
    if (char === "(") {
      groups.push(ignoreCase);
      if (rest[i + 1] !== "?") {
        out += "(";
        continue;
      }
      const group = GROUP.exec(rest.slice(i));
      if (!group) throw new Error(`unsupported group syntax at ${JSON.stringify(rest.slice(i, i + 6))}`);
      const [text, named, backReference, setFlags, clearFlags, jsNamed] = group;
      if (named) {
        out += `(?<${named}>`;
      } else if (backReference) {
        groups.pop();
        out += `\\k<${backReference}>`;
      } else if (setFlags !== undefined) {
        for (const flag of (setFlags ?? "") + (clearFlags ?? "")) {
          if (flag !== "i") throw new Error(`scoped flag ${flag} has no JavaScript equivalent`);
        }
        if (setFlags?.includes("i")) ignoreCase = true;
        if (clearFlags?.includes("i")) ignoreCase = false;
        out += "(?:";
      } else if (jsNamed) {
        out += `(?<${jsNamed}>`;
      } else {
        out += text;
      }
      i += text.length - 1;
      continue;
    }
    if (char === ")") {
      const outer = groups.pop();
      if (outer === undefined) throw new Error("unbalanced parenthesis");
      ignoreCase = outer;
      out += ")";
      continue;
    }
    if (char === "$" && !multiline) {
      // Python's `$` also matches just before a newline that ends the text.
      out += "(?=\\n?$)";
      continue;
    }
    if (char === "{" && !/^\{\d+(,\d*)?\}/.test(rest.slice(i))) {
      out += "\\{";
      continue;
    }
    if (char === "}") {
      out += quantifierClosesAt(out) ? "}" : "\\}";
      continue;
    }
    if ((char === "*" || char === "+" || char === "?" || char === "}") && rest[i + 1] === "+") {
      throw new Error("possessive quantifiers have no JavaScript equivalent");
    }
    out += /[A-Za-z]/.test(char) ? caseClass(char, ignoreCase) : char;
  }
  if (groups.length > 0) throw new Error("unbalanced parenthesis");
  return new RegExp(out, `${flags}gdu`);
}

/** A letter, or under IGNORECASE the class of every letter Python would match it to. */
function caseClass(letter: string, ignoreCase: boolean): string {
  if (!ignoreCase) return letter;
  return `[${caseVariants(letter)}]`;
}

function caseVariants(letter: string): string {
  const lower = letter.toLowerCase();
  return `${lower}${lower.toUpperCase()}${CASE_EXTRAS[lower] ?? ""}`;
}

/** The index of the `]` closing the class opened at `open` (Python: a `]` first in the class is literal). */
function classEnd(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === "^") i += 1;
  if (pattern[i] === "]") i += 1;
  for (; i < pattern.length; i++) {
    if (pattern[i] === "\\") i += 1;
    else if (pattern[i] === "]") return i;
  }
  throw new Error("unterminated character class");
}

function translateClass(body: string, ignoreCase: boolean, multiline: boolean): string {
  let out = "";
  let i = 0;
  if (body.startsWith("^")) {
    out += "^";
    i = 1;
  }
  if (body[i] === "]") {
    out += "\\]";
    i += 1;
  }
  let extras = "";
  for (; i < body.length; i++) {
    const char = body[i] as string;
    if (char === "\\") {
      const next = body[i + 1] as string;
      i += 1;
      out += translateEscape(next, true, multiline);
      continue;
    }
    const isRange = body[i + 1] === "-" && i + 2 < body.length;
    if (isRange) {
      const end = body[i + 2] as string;
      if (end === "\\") throw new Error("a range ending in an escape is not supported");
      out += `${escapeClassChar(char)}-${escapeClassChar(end)}`;
      if (ignoreCase) extras += rangeCaseVariants(char, end);
      i += 2;
      continue;
    }
    out += escapeClassChar(char);
    if (ignoreCase && /[A-Za-z]/.test(char)) extras += caseVariants(char);
  }
  return out + extras;
}

function rangeCaseVariants(start: string, end: string): string {
  let variants = "";
  for (let code = start.charCodeAt(0); code <= end.charCodeAt(0); code++) {
    const char = String.fromCharCode(code);
    if (/[A-Za-z]/.test(char)) variants += caseVariants(char);
    else if (code > 0x7f && char.toLowerCase() !== char.toUpperCase()) {
      throw new Error("case-insensitive ranges of non-ASCII letters are not supported");
    }
  }
  return variants;
}

function escapeClassChar(char: string): string {
  return CLASS_SYNTAX.has(char) || char === "/" ? `\\${char}` : char;
}

function quantifierClosesAt(out: string): boolean {
  return /\{\d+(,\d*)?$/.test(out);
}

function translateEscape(next: string, inClass: boolean, multiline: boolean): string {
  switch (next) {
    case "d":
      return DIGIT;
    case "D":
      return "\\P{Nd}";
    case "w":
      return inClass ? WORD : `[${WORD}]`;
    case "W":
      if (inClass) throw new Error("\\W inside a character class is not supported");
      return `[^${WORD}]`;
    case "b":
      // Inside a class `\b` is a backspace in both languages; outside it is a Unicode word boundary.
      return inClass ? "\\x08" : `(?:(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}]))`;
    case "B":
      if (inClass) throw new Error("\\B inside a character class is not supported");
      return `(?:(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}]))`;
    case "A":
      return multiline ? "(?<![\\s\\S])" : "^";
    case "Z":
      return multiline ? "(?![\\s\\S])" : "$";
    case "s":
      // Inside a class the native escape keeps `[\s\S]` meaning "anything".
      return inClass ? "\\s" : `[${SPACE}]`;
    case "S":
      return inClass ? "\\S" : `[^${SPACE}]`;
    case "n":
    case "r":
    case "t":
    case "f":
    case "v":
    case "x":
    case "u":
    case "0":
      return `\\${next}`;
    case "N":
      throw new Error("\\N{...} escapes are not supported");
    default:
      break;
  }
  if (/[1-9]/.test(next)) return `\\${next}`;
  if (/[A-Za-z]/.test(next)) throw new Error(`unknown escape \\${next}`);
  if (inClass ? CLASS_SYNTAX.has(next) : SYNTAX.has(next)) return `\\${next}`;
  // Python allows escaping any punctuation; the `u` flag only allows syntax characters.
  return `\\u{${next.codePointAt(0)?.toString(16)}}`;
}

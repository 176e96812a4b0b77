/** Redaction with the server's policy file: the shipped copy, each mode, and the Python-regex translation. */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

import { buildRedactor, DEFAULT_POLICY_FILE, loadPatterns, parsePatterns, PolicyError, pythonRegexToJs } from "../src/redaction.js";

// build-test/test/ → the repository's deploy/ folder.
const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
const SERVER_POLICY = join(REPO, "deploy", "trace-allowlist.yaml");

// The server's secret and false-positive corpora (fake secrets, each stored in two fragments).
interface SecretCase {
  class: "credential" | "personal";
  secret: string[];
  context: string;
  expected: string;
}
const corpus = (name: string): unknown => JSON.parse(readFileSync(join(REPO, "payloads", "tests", "corpus", name), "utf-8"));
const SECRET_CASES = (corpus("secrets.json") as { cases: SecretCase[] }).cases.map((entry) => ({
  patternClass: entry.class,
  text: entry.context.replace("{secret}", entry.secret.join("")),
  expected: entry.expected,
}));
const HARMLESS = (corpus("harmless.json") as { texts: string[] }).texts;

describe("the policy file", () => {
  it("ships an exact copy of the server's deploy/trace-allowlist.yaml", () => {
    assert.equal(readFileSync(DEFAULT_POLICY_FILE, "utf-8"), readFileSync(SERVER_POLICY, "utf-8"));
  });

  it("compiles every pattern of the server's policy", () => {
    const patterns = loadPatterns(SERVER_POLICY);
    assert.ok(patterns.length >= 10);
    assert.ok(patterns.some((pattern) => pattern.patternClass === "personal"));
    assert.ok(patterns.every((pattern) => pattern.regex.flags.includes("u")));
  });

  it("refuses a pattern it cannot translate, naming it", () => {
    assert.throws(() => parsePatterns({ patterns: [{ name: "bad", class: "credential", regex: "(?x)a b" }] }), PolicyError);
    assert.throws(() => parsePatterns({ patterns: [{ name: "bad", class: "secretish", regex: "a" }] }), /class must be/);
  });
});

describe("standard mode (the server's policy)", () => {
  const redactor = buildRedactor("standard", SERVER_POLICY);
  const cases: [string, string][] = [
    ["key sk-proj-abcdefghijklmnopqrstuvwxyz0123", "key [REDACTED:openai_api_key]"],
    ["x-api-key: sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "x-api-key: [REDACTED:anthropic_api_key]"],
    ["Authorization: Bearer abcdefghijklmnop.qrs", "Authorization: Bearer [REDACTED:bearer_token]"],
    ["postgres://app:hunter2hunter2@db:5432/x", "postgres://app:[REDACTED:url_password]@db:5432/x"],
    ['{"password": "s3cr3t-value"}', '{"password": "[REDACTED:secret_assignment]"}'],
    ["id AKIAABCDEFGHIJKLMNOP end", "id [REDACTED:aws_access_key_id] end"],
    ["card 4111 1111 1111 1111 ok", "card [REDACTED:card_number] ok"],
    ["not a card 4111 1111 1111 1112", "not a card 4111 1111 1111 1112"],
    ["mail ada@example.com", "mail ada@example.com"],
    ["-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- after", "[REDACTED:private_key_block] after"],
  ];
  for (const [input, expected] of cases) {
    it(`masks ${JSON.stringify(input.slice(0, 24))}`, () => {
      assert.deepEqual(redactor.redact(input), { text: expected, redacted: input !== expected });
    });
  }

  it("is idempotent: masking masked text changes nothing (the server redacts uploads again)", () => {
    for (const [input] of cases) {
      const once = redactor.redact(input).text;
      assert.equal(redactor.redact(once).text, once);
    }
  });
});

describe("the server's corpora", () => {
  const redactors = {
    off: buildRedactor("off", SERVER_POLICY),
    standard: buildRedactor("standard", SERVER_POLICY),
    strict: buildRedactor("strict", SERVER_POLICY),
  };

  it("masks every credential of the secret corpus as the server does, in standard and strict", () => {
    const credentials = SECRET_CASES.filter((entry) => entry.patternClass === "credential");
    assert.ok(credentials.length > 50);
    for (const entry of credentials) {
      assert.equal(redactors.standard.redact(entry.text).text, entry.expected);
      assert.equal(redactors.strict.redact(entry.text).text, entry.expected);
      assert.equal(redactors.off.redact(entry.text).text, entry.text);
    }
  });

  it("masks the personal data of the corpus in strict only", () => {
    for (const entry of SECRET_CASES.filter((item) => item.patternClass === "personal")) {
      assert.equal(redactors.strict.redact(entry.text).text, entry.expected);
      assert.equal(redactors.standard.redact(entry.text).text, entry.text);
    }
  });

  it("leaves the false-positive corpus untouched in every mode", () => {
    for (const redactor of Object.values(redactors)) {
      assert.deepEqual(HARMLESS.filter((text) => redactor.redact(text).text !== text), []);
    }
  });
});

describe("strict and off modes", () => {
  it("strict also masks personal data", () => {
    const redactor = buildRedactor("strict", SERVER_POLICY);
    assert.equal(redactor.redact("mail ada@example.com, call +44 20 7946 0958").text, "mail [REDACTED:email], call [REDACTED:phone_number]");
  });

  it("off masks nothing", () => {
    const redactor = buildRedactor("off", SERVER_POLICY);
    assert.deepEqual(redactor.redact("key sk-proj-abcdefghijklmnopqrstuvwxyz0123"), {
      text: "key sk-proj-abcdefghijklmnopqrstuvwxyz0123",
      redacted: false,
    });
  });
});

describe("Python regex translation", () => {
  it("keeps Python's `$`, which also matches before a final newline", () => {
    const regex = pythonRegexToJs("a$");
    assert.deepEqual([..."xa\n".matchAll(regex)].map((match) => match.index), [1]);
  });

  it("gives \\d, \\w and \\b their Unicode meaning, as Python's re does", () => {
    assert.ok(pythonRegexToJs("^\\d+$").test("٣٤"));
    assert.equal("é1".replace(pythonRegexToJs("(?<![\\w-])1"), "X"), "é1");
    assert.equal("naïve".replace(pythonRegexToJs("\\bve\\b"), "X"), "naïve");
  });

  it("turns leading inline flags and (?P<name>) groups into JavaScript", () => {
    const regex = pythonRegexToJs("(?i)token=(?P<secret>\\w+)");
    assert.equal("TOKEN=abc".replace(regex, (_match, secret: string) => secret.toUpperCase()), "ABC");
  });

  it("matches scoped (?i:…) like Python, dotted and dotless i and the Kelvin sign included", () => {
    const regex = pythonRegexToJs("[Bb](?i:earer)x(?i:[a-k])");
    assert.deepEqual(["bEARERxK", "BearerxI", "bearerXk", "Bearerx\u212a", "beaRerx\u0131"].map((text) => regex.test(text) && (regex.lastIndex = 0) === 0), [true, true, false, true, true]);
  });
});

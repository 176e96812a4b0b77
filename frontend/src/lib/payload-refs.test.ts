import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import type { PayloadRef } from "./api-types";
import { payloadRefsOf, refKey, refsOfSpan, sizeKey } from "./payload-refs";

interface Case {
  name: string;
  attributes: Record<string, unknown>;
  refs: { role: string; hash: string; size: number | null }[];
}

// The server's payload-ref module is tested against the same file.
const cases = JSON.parse(
  readFileSync(new URL("../../../payloads/tests/fixtures/payload_refs.json", import.meta.url), "utf-8"),
) as Case[];

const sha = "ab".repeat(32);
const stored: PayloadRef = {
  ref: `sha256:${sha}`,
  role: "input",
  attribute: "gen_ai.input.messages",
  size_bytes: 1,
  content_type: "application/json",
  status: "stored",
};

describe("the payload-ref convention (golden fixtures shared with the server)", () => {
  it("has cases to check", () => {
    expect(cases.length).toBeGreaterThan(5);
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    expect(refsOfSpan(c.attributes)).toEqual(c.refs);
  });

  it("builds the keys it parses", () => {
    expect(refKey("tool_result_2")).toBe("tracefoundry.payload.tool_result_2_ref");
    expect(sizeKey("tool_result_2")).toBe("tracefoundry.payload.tool_result_2_size");
    expect(refsOfSpan({ [refKey("tool_result_2")]: `sha256:${sha}`, [sizeKey("tool_result_2")]: 9 })).toEqual([
      { role: "tool_result_2", hash: sha, size: 9 },
    ]);
  });
});

describe("payloadRefsOf", () => {
  it("uses the span's detail once loaded, else the tree's list", () => {
    expect(payloadRefsOf([stored], undefined, undefined)).toEqual([stored]);
    expect(payloadRefsOf([stored], [], {})).toEqual([]);
    expect(payloadRefsOf(undefined, undefined, undefined)).toEqual([]);
  });

  it("adds a ref named on the span that the API did not list, as missing", () => {
    const other = "cd".repeat(32);
    const attributes = {
      "tracefoundry.payload.input_ref": `sha256:${sha}`,
      "tracefoundry.payload.output_ref": `sha256:${other}`,
      "tracefoundry.payload.output_size": 42,
    };
    expect(payloadRefsOf([], [stored], attributes)).toEqual([
      stored,
      {
        ref: `sha256:${other}`,
        role: "output",
        attribute: "tracefoundry.payload.output_ref",
        size_bytes: 42,
        content_type: null,
        status: "missing",
      },
    ]);
  });
});

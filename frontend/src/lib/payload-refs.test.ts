import { describe, expect, it } from "vitest";

import { payloadRefsOf, refsFromAttributes } from "./payload-refs";

const sha = "ab".repeat(32);

describe("payload refs", () => {
  it("reads refs and sizes from tracefoundry.payload.<role>_ref attributes", () => {
    const refs = refsFromAttributes({
      "tracefoundry.payload.output_messages_ref": `sha256:${sha}`,
      "tracefoundry.payload.output_messages_size": 120,
      "tracefoundry.payload.input_messages_ref": `sha256:${sha}`,
      "tracefoundry.payload.bogus_ref": "md5:123",
      "gen_ai.request.model": "gpt-4o",
    });
    expect(refs.map((r) => [r.role, r.ref, r.size_bytes])).toEqual([
      ["input_messages", `sha256:${sha}`, null],
      ["output_messages", `sha256:${sha}`, 120],
    ]);
  });

  it("prefers the API's lists when they are not empty", () => {
    const listed = [{ ref: `sha256:${sha}`, role: "input", attribute: "", size_bytes: 1, content_type: "", sha256: sha }];
    expect(payloadRefsOf(listed, [], {})).toBe(listed);
    expect(payloadRefsOf([], listed, {})).toBe(listed);
    expect(payloadRefsOf([], [], {})).toEqual([]);
  });
});

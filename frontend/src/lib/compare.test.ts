import { describe, expect, it } from "vitest";

import type { CompareRow, CompareStep } from "./api-types";
import { compareHref, deltaBadges, sharedAxisMs, toggleSelection } from "./compare";

const step = (over: Partial<CompareStep>): CompareStep => ({
  span_id: "0000000000000001",
  category: "llm",
  target: "gpt-4o",
  name: "chat gpt-4o",
  offset_ms: 0,
  duration_ms: 100,
  input_tokens: 10,
  output_tokens: 5,
  total_tokens: 15,
  cost_usd: "0.0010000000",
  status_code: "ok",
  retry_count: 0,
  is_timeout: false,
  ...over,
});

const matched = (a: CompareStep, b: CompareStep): CompareRow => ({
  kind: "matched",
  a,
  b,
  delta: {
    duration_ms: b.duration_ms - a.duration_ms,
    input_tokens: b.input_tokens - a.input_tokens,
    output_tokens: b.output_tokens - a.output_tokens,
    total_tokens: b.total_tokens - a.total_tokens,
    cost_usd: String(Number(b.cost_usd) - Number(a.cost_usd)),
    retries: b.retry_count - a.retry_count,
    timeouts: Number(b.is_timeout) - Number(a.is_timeout),
    status_changed: a.status_code !== b.status_code,
  },
});

describe("compare deltas", () => {
  it("has no badge for identical steps or duration noise", () => {
    expect(deltaBadges(matched(step({}), step({})))).toEqual([]);
    expect(deltaBadges(matched(step({}), step({ duration_ms: 102 })))).toEqual([]);
  });

  it("marks a slower, costlier, retried, failed step as worse", () => {
    const badges = deltaBadges(
      matched(step({}), step({ duration_ms: 350, total_tokens: 115, cost_usd: "0.002", retry_count: 2, status_code: "error" })),
    );
    expect(badges.map((b) => [b.text, b.tone])).toEqual([
      ["+250 ms", "worse"],
      ["+100 tok", "worse"],
      ["+$0.001", "worse"],
      ["+2 ↻", "worse"],
      ["ok → error", "worse"],
    ]);
  });

  it("marks a faster step as better", () => {
    expect(deltaBadges(matched(step({ duration_ms: 2000 }), step({ duration_ms: 500 })))[0]).toMatchObject({
      text: "−1.50 s",
      tone: "better",
    });
  });

  it("has no badges for steps in one run only", () => {
    expect(deltaBadges({ kind: "only_b", a: null, b: step({}), delta: null })).toEqual([]);
  });
});

describe("compare selection", () => {
  it("keeps at most two traces, dropping the first picked", () => {
    expect(toggleSelection([], "a")).toEqual(["a"]);
    expect(toggleSelection(["a", "b"], "c")).toEqual(["b", "c"]);
    expect(toggleSelection(["a", "b"], "a")).toEqual(["b"]);
  });

  it("puts both runs on the longer one's axis and links the page", () => {
    expect(sharedAxisMs(120, 80)).toBe(120);
    expect(compareHref("aa", "bb")).toBe("/compare/?a=aa&b=bb");
  });
});

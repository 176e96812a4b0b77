import { describe, expect, it } from "vitest";

import type { Metrics, MetricsPoint } from "./api-types";
import { parseListState } from "./filters";
import { bucketListUrl, bucketWidthLabel, pivot, topGroups } from "./metrics-chart";

function point(bucket_start: string, group: string, trace_count: number, p95_ms: number | null = null): MetricsPoint {
  return {
    bucket_start,
    group,
    trace_count,
    span_count: trace_count * 3,
    error_count: 0,
    error_rate: 0,
    total_tokens: 0,
    cost_usd: "0",
    p50_ms: null,
    p95_ms,
    p99_ms: null,
  };
}

const B0 = "2026-01-01T10:00:00Z";
const B1 = "2026-01-01T10:01:00Z";

describe("metrics charts", () => {
  const metrics: Metrics = {
    group_by: "service",
    bucket_seconds: 60,
    buckets: [B0, B1],
    series: [point(B0, "billing", 2, 50), point(B0, "search", 5, 10), point(B1, "search", 1, 12)],
    tools: [],
    models: [],
  };

  it("orders groups by volume and fills empty buckets", () => {
    expect(topGroups(metrics)).toEqual(["search", "billing"]);
    const rows = pivot(metrics, ["search", "billing"], (p) => p.trace_count);
    expect(rows.map((r) => [r.bucket, r.search, r.billing])).toEqual([
      [B0, 5, 2],
      [B1, 1, 0],
    ]);
    expect(pivot(metrics, ["billing"], (p) => p.p95_ms, null)[1]?.billing).toBeNull();
  });

  it("links a bar to the list of its bucket and group, keeping the other filters", () => {
    const state = parseListState(new URLSearchParams("range=24h&status=error&tool=sql"));
    const url = bucketListUrl(state, "2026-01-01T10:00:00Z", 60, "service", "billing");
    const params = new URLSearchParams(url.slice(2));
    expect(params.get("service")).toBe("billing");
    expect(params.get("status")).toBe("error");
    expect(params.get("tool")).toBe("sql");
    expect(params.get("range")).toBeNull();
    expect(params.get("start")).toBe("2026-01-01T10:00:00.000Z");
    expect(params.get("end")).toBe("2026-01-01T10:00:59.999Z");
  });
});

describe("bucketWidthLabel", () => {
  it("names the width", () => {
    expect([60, 300, 3600, 10_800, 86_400, 604_800, 45].map(bucketWidthLabel)).toEqual(["minute", "5 min", "hour", "3 h", "day", "week", "45 s"]);
  });
});

import { describe, expect, it } from "vitest";

import { apiQuery, columnSort, listStateQuery, parseListState } from "./filters";

describe("list state in the URL", () => {
  it("round-trips every filter, the range and the sort", () => {
    const query = "range=1h&service=agent&status=error&model=gpt-4o&tool=search&min_cost=0.5&q=refund&sort=slowest";
    const state = parseListState(new URLSearchParams(query));
    expect(state.filters).toEqual({ service: "agent", status: "error", model: "gpt-4o", tool: "search", min_cost: "0.5", q: "refund" });
    expect(state.range).toBe("1h");
    expect(state.sort).toBe("slowest");
    expect(parseListState(new URLSearchParams(listStateQuery(state)))).toEqual(state);
  });

  it("drops unknown sorts and ranges, empty values and the default sort", () => {
    const state = parseListState(new URLSearchParams("sort=bogus&range=3y&service=&q=%20"));
    expect(state).toEqual({ filters: {}, range: "", sort: "newest" });
    expect(listStateQuery(state)).toBe("");
  });
});

describe("apiQuery", () => {
  const now = Date.UTC(2026, 10, 1, 12, 0, 0);

  it("turns a preset range into a start relative to now", () => {
    const query = new URLSearchParams(apiQuery(parseListState(new URLSearchParams("range=15m&start=2020-01-01T00:00:00Z")), now));
    expect(query.get("start")).toBe("2026-11-01T11:45:00.000Z");
    expect(query.get("sort")).toBe("newest");
    expect(query.get("limit")).toBe("50");
  });

  it("passes filters with the API's names, and the cursor", () => {
    const state = parseListState(new URLSearchParams("status=ok&max_tokens=900&end=2026-11-01T10:00:00Z&sort=most_tokens"));
    const query = new URLSearchParams(apiQuery(state, now, "abc"));
    expect(Object.fromEntries(query)).toEqual({
      status: "ok",
      max_tokens: "900",
      end: "2026-11-01T10:00:00Z",
      sort: "most_tokens",
      limit: "50",
      cursor: "abc",
    });
  });
});

describe("column header sorts", () => {
  it("sorts descending first, then toggles", () => {
    expect(columnSort("duration", "newest")).toEqual({ next: "slowest", arrow: "" });
    expect(columnSort("duration", "slowest")).toEqual({ next: "fastest", arrow: "↓" });
    expect(columnSort("duration", "fastest")).toEqual({ next: "slowest", arrow: "↑" });
    expect(columnSort("time", "newest")).toEqual({ next: "oldest", arrow: "↓" });
  });

  it("keeps the flag filters and new sorts in the URL", () => {
    const state = parseListState(
      new URLSearchParams("has_retries=true&min_retries=3&sort=cheapest&session_id=c1&user=u%40example.com"),
    );
    expect(state.filters).toEqual({ has_retries: "true", min_retries: "3", session_id: "c1", user: "u@example.com" });
    expect(state.sort).toBe("cheapest");
  });
});

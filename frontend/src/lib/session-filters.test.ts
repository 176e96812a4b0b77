import { describe, expect, it } from "vitest";

import { parseSessionState, sessionApiQuery, sessionStateQuery } from "./session-filters";

describe("session list state", () => {
  it("round-trips filters, range and sort, and drops unknown values", () => {
    const state = parseSessionState(new URLSearchParams("range=24h&model=gpt&has_errors=true&sort=most_turns&bogus=1"));
    expect(state).toEqual({ filters: { model: "gpt", has_errors: "true" }, range: "24h", sort: "most_turns" });
    expect(parseSessionState(new URLSearchParams(sessionStateQuery(state)))).toEqual(state);
    expect(parseSessionState(new URLSearchParams("sort=slowest")).sort).toBe("newest");
  });

  it("turns a preset into a start and pages with the cursor", () => {
    const state = parseSessionState(new URLSearchParams("range=1h&min_turns=2"));
    const query = new URLSearchParams(sessionApiQuery(state, Date.UTC(2026, 0, 1, 12), "abc", 20));
    expect(query.get("start")).toBe("2026-01-01T11:00:00.000Z");
    expect(query.get("min_turns")).toBe("2");
    expect(query.get("cursor")).toBe("abc");
    expect(query.get("limit")).toBe("20");
  });
});

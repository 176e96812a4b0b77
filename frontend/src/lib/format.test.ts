import { describe, expect, it } from "vitest";

import { csrfToken } from "./api";
import { formatBytes, formatCompact, formatCost, formatDuration, formatRelative, plural } from "./format";

describe("format", () => {
  it("shows costs in USD with at most 4 significant digits", () => {
    expect(formatCost("0.0012345")).toBe("$0.001235");
    expect(formatCost("12.5")).toBe("$12.5");
    expect(formatCost("1234.5678")).toBe("$1,235");
    expect(formatCost("0")).toBe("$0");
    expect(formatCost(null)).toBe("—");
  });

  it("shows durations in ms below a second and in s above", () => {
    expect(formatDuration(0)).toBe("0 ms");
    expect(formatDuration(0.25)).toBe("0.25 ms");
    expect(formatDuration(4.26)).toBe("4.3 ms");
    expect(formatDuration(532.4)).toBe("532 ms");
    expect(formatDuration(1234)).toBe("1.23 s");
    expect(formatDuration(61_000)).toBe("61.0 s");
  });

  it("shows relative times", () => {
    const now = Date.parse("2026-11-01T12:00:00Z");
    expect(formatRelative("2026-11-01T11:59:58Z", now)).toBe("just now");
    expect(formatRelative("2026-11-01T11:55:00Z", now)).toBe("5 min ago");
    expect(formatRelative("2026-10-30T12:00:00Z", now)).toBe("2 d ago");
  });

  it("shows sizes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(2048)).toBe("2.0 KiB");
  });

  it("reads the CSRF cookie", () => {
    expect(csrfToken("sessionid=x; csrftoken=abc%3D; other=1")).toBe("abc=");
    expect(csrfToken("sessionid=x")).toBe("");
  });
});

describe("formatCompact", () => {
  it("shortens large counts to three significant digits", () => {
    expect([850, 12_400, 1_234_567].map(formatCompact)).toEqual(["850", "12.4k", "1.23M"]);
  });
});

describe("plural", () => {
  it("agrees with the count", () => {
    expect(plural(1, "error")).toBe("1 error");
    expect(plural(2, "error")).toBe("2 errors");
    expect(plural(0, "timeout")).toBe("0 timeouts");
    expect(plural(1, "retry", "retries")).toBe("1 retry");
    expect(plural(1200, "retry", "retries")).toBe("1,200 retries");
  });
});

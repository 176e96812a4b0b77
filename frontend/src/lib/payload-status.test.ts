import { describe, expect, it } from "vitest";

import { payloadAvailability } from "./payload-status";

describe("payloadAvailability", () => {
  it("loads stored content", () => {
    expect(payloadAvailability("stored")).toEqual({ loadable: true, label: "stored", explanation: "" });
  });

  it.each([
    ["expired", "retention deleted"],
    ["missing", "never stored"],
  ] as const)("labels %s content and never loads it", (status, why) => {
    const availability = payloadAvailability(status);
    expect(availability.loadable).toBe(false);
    expect(availability.label).toBe(status);
    expect(availability.explanation).toContain(why);
  });
});

import { describe, expect, it } from "vitest";

import { barLabelPlacement } from "./bar-label";

describe("barLabelPlacement", () => {
  it("puts the label after a bar that ends early", () => {
    expect(barLabelPlacement(10, 20)).toEqual({ style: { left: "30%" }, inside: false });
  });
  it("puts the label before a late bar", () => {
    expect(barLabelPlacement(60, 30)).toEqual({ style: { right: "40%", paddingRight: 4 }, inside: false });
  });
  it("keeps a full-width root bar's label inside the track", () => {
    expect(barLabelPlacement(0, 100)).toEqual({ style: { right: "0%" }, inside: true });
    expect(barLabelPlacement(5, 90)).toEqual({ style: { right: "5%" }, inside: true });
  });
});

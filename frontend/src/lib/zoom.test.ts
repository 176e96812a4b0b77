import { describe, expect, it } from "vitest";

import { clampWindow, panToShow, placeInWindow, pointInWindow, windowFromDrag, windowTicks, zoomAt } from "./zoom";

describe("zoom window", () => {
  it("keeps the window inside the trace and at least a thousandth of it wide", () => {
    expect(clampWindow({ start: -50, end: 100 }, 1000)).toEqual({ start: 0, end: 150 });
    expect(clampWindow({ start: 950, end: 1200 }, 1000)).toEqual({ start: 750, end: 1000 });
    expect(clampWindow({ start: 500, end: 500 }, 1000)).toEqual({ start: 500, end: 501 });
  });

  it("zooms around the anchor, keeping it at the same place on screen", () => {
    expect(zoomAt({ start: 0, end: 1000 }, 0.5, 250, 1000)).toEqual({ start: 125, end: 625 });
    expect(zoomAt({ start: 125, end: 625 }, 2, 250, 1000)).toEqual({ start: 0, end: 1000 });
  });

  it("turns a drag into a window and a click into a pan", () => {
    expect(windowFromDrag(600, 200, { start: 0, end: 1000 }, 1000)).toEqual({ start: 200, end: 600 });
    expect(windowFromDrag(800, 800, { start: 0, end: 200 }, 1000)).toEqual({ start: 700, end: 900 });
  });

  it("places bars relative to the window, clipped, and says when they are outside", () => {
    const view = { start: 100, end: 300 };
    expect(placeInWindow(150, 50, view)).toEqual({ leftPct: 25, widthPct: 25, visible: true });
    expect(placeInWindow(0, 200, view)).toEqual({ leftPct: 0, widthPct: 50, visible: true });
    expect(placeInWindow(400, 10, view).visible).toBe(false);
    expect(placeInWindow(200, 0, view)).toEqual({ leftPct: 50, widthPct: 0.3, visible: true });
  });

  it("places instants and round ticks inside the window", () => {
    expect(pointInWindow(200, { start: 100, end: 300 })).toBe(50);
    expect(pointInWindow(50, { start: 100, end: 300 })).toBeNull();
    expect(windowTicks({ start: 130, end: 370 }, 6)).toEqual([150, 200, 250, 300, 350]);
  });

  it("pans to show a span outside the window, keeping the zoom", () => {
    expect(panToShow({ start: 0, end: 100 }, 50, 10, 1000)).toEqual({ start: 0, end: 100 });
    expect(panToShow({ start: 0, end: 100 }, 500, 20, 1000)).toEqual({ start: 460, end: 560 });
    expect(panToShow({ start: 0, end: 100 }, 990, 10, 1000)).toEqual({ start: 900, end: 1000 });
  });
});

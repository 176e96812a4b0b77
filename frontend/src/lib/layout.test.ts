import { describe, expect, it } from "vitest";

import { ancestorIds, barGeometry, buildTree, moveSelection, timeTicks, visibleRows } from "./layout";

const span = (span_id: string, parent_span_id: string, offset_ms: number, duration_ms = 10) => ({
  span_id,
  parent_span_id,
  offset_ms,
  duration_ms,
});

describe("buildTree", () => {
  it("orders parents before children and siblings by start, whatever the input order", () => {
    const tree = buildTree([span("c2", "root", 50), span("g1", "c1", 12), span("c1", "root", 10), span("root", "", 0, 100)]);
    expect(tree.nodes.map((n) => [n.span.span_id, n.depth, n.childCount])).toEqual([
      ["root", 0, 2],
      ["c1", 1, 1],
      ["g1", 2, 0],
      ["c2", 1, 0],
    ]);
    expect(tree.nodes.map((n) => n.subtreeEnd)).toEqual([4, 3, 3, 4]);
    expect(tree.nodes.map((n) => n.parentIndex)).toEqual([-1, 0, 1, 0]);
    expect(tree.totalMs).toBe(100);
  });

  it("marks spans whose parent never arrived as orphan roots, and keeps their children under them", () => {
    const tree = buildTree([span("root", "", 0), span("lost", "missing", 5), span("kid", "lost", 6)]);
    expect(tree.nodes.map((n) => [n.span.span_id, n.depth, n.isOrphan])).toEqual([
      ["root", 0, false],
      ["lost", 0, true],
      ["kid", 1, false],
    ]);
  });

  it("keeps every span of a parent cycle once, as orphans, and drops duplicate ids", () => {
    const tree = buildTree([span("a", "b", 0), span("b", "a", 1), span("a", "b", 0)]);
    expect(tree.nodes).toHaveLength(2);
    expect(tree.nodes[0]!.isOrphan).toBe(true);
  });

  it("lays out 10,000 spans in a deep chain without recursion and quickly", () => {
    const spans = Array.from({ length: 10_000 }, (_, i) => span(`s${i}`, i === 0 ? "" : `s${i - 1}`, i));
    const started = performance.now();
    const tree = buildTree(spans);
    const rows = visibleRows(tree, new Set());
    expect(performance.now() - started).toBeLessThan(500);
    expect(rows).toHaveLength(10_000);
    expect(tree.nodes[9_999]!.depth).toBe(9_999);
  });
});

describe("visibleRows", () => {
  const tree = buildTree([span("root", "", 0), span("a", "root", 1), span("a1", "a", 2), span("b", "root", 3)]);

  it("shows everything when nothing is collapsed", () => {
    expect(visibleRows(tree, new Set())).toEqual([0, 1, 2, 3]);
  });

  it("hides the descendants of a collapsed span but not its siblings", () => {
    expect(visibleRows(tree, new Set(["a"]))).toEqual([0, 1, 3]);
    expect(visibleRows(tree, new Set(["root"]))).toEqual([0]);
  });

  it("names the ancestors to expand to reveal a span", () => {
    expect(ancestorIds(tree, "a1")).toEqual(["a", "root"]);
    expect(ancestorIds(tree, "root")).toEqual([]);
  });
});

describe("barGeometry", () => {
  it("places bars as percentages of the trace", () => {
    expect(barGeometry(250, 500, 1000)).toEqual({ leftPct: 25, widthPct: 50 });
  });

  it("gives instant spans a visible width and keeps the bar inside the track", () => {
    expect(barGeometry(1000, 0, 1000)).toEqual({ leftPct: 99.7, widthPct: 0.3 });
    expect(barGeometry(-5, 2000, 1000)).toEqual({ leftPct: 0, widthPct: 100 });
  });

  it("fills the track when the trace has no duration", () => {
    expect(barGeometry(0, 0, 0)).toEqual({ leftPct: 0, widthPct: 100 });
  });
});

describe("timeTicks", () => {
  it("uses round steps covering the whole trace", () => {
    expect(timeTicks(1000, 5)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(timeTicks(7, 6)).toEqual([0, 2, 4, 6]);
    expect(timeTicks(0)).toEqual([0]);
  });
});

describe("moveSelection", () => {
  it("stays inside the rows", () => {
    expect(moveSelection(3, 2, 1)).toBe(2);
    expect(moveSelection(3, 0, -1)).toBe(0);
    expect(moveSelection(3, -1, 1)).toBe(0);
    expect(moveSelection(0, -1, 1)).toBe(-1);
  });
});

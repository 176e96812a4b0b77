import { describe, expect, it } from "vitest";

import { indexesWhere, mergeMatches, nextTarget } from "./navigation";

describe("navigation between spans of interest", () => {
  it("finds the next and previous target in tree order, wrapping around", () => {
    const errors = [3, 8, 12];
    expect(nextTarget(errors, 0, 1)).toBe(3);
    expect(nextTarget(errors, 3, 1)).toBe(8);
    expect(nextTarget(errors, 12, 1)).toBe(3);
    expect(nextTarget(errors, 8, -1)).toBe(3);
    expect(nextTarget(errors, 3, -1)).toBe(12);
    expect(nextTarget([], 3, 1)).toBeUndefined();
  });

  it("merges name matches and server matches once each, in tree order", () => {
    const order = new Map([
      ["a", 0],
      ["b", 1],
      ["c", 2],
    ]);
    expect(mergeMatches(["c"], ["a", "c", "zz"], order)).toEqual(["a", "c"]);
  });

  it("lists the indexes of matching nodes", () => {
    const nodes = [{ span: { e: false } }, { span: { e: true } }, { span: { e: true } }];
    expect(indexesWhere(nodes, (s) => s.e)).toEqual([1, 2]);
  });
});

/**
 * Layout of a trace's span tree and waterfall, independent of React.
 *
 * `buildTree` orders spans parent-before-child with siblings by start time (whatever order they arrive in),
 * computes depths, marks orphans (a parent id that never arrived) as roots, and counts children.
 * `visibleRows` applies collapsed subtrees; `barGeometry` and `timeTicks` place the waterfall.
 * All linear or n·log n, so a 10,000-span trace lays out in milliseconds.
 */

export interface LayoutInput {
  span_id: string;
  parent_span_id: string;
  offset_ms: number;
  duration_ms: number;
}

export interface TreeNode<S extends LayoutInput> {
  span: S;
  depth: number;
  parentIndex: number; // -1 for roots and orphans
  childCount: number;
  subtreeEnd: number; // index one past this node's last descendant, in tree order
  isOrphan: boolean;
}

export interface Tree<S extends LayoutInput> {
  nodes: TreeNode<S>[];
  indexById: Map<string, number>;
  totalMs: number;
}

function byStart<S extends LayoutInput>(a: S, b: S): number {
  return a.offset_ms - b.offset_ms || (a.span_id < b.span_id ? -1 : a.span_id > b.span_id ? 1 : 0);
}

export function buildTree<S extends LayoutInput>(spans: readonly S[]): Tree<S> {
  const ids = new Set<string>();
  const unique: S[] = [];
  for (const span of spans) {
    if (!ids.has(span.span_id)) {
      ids.add(span.span_id);
      unique.push(span);
    }
  }
  const children = new Map<string, S[]>();
  const roots: S[] = [];
  const orphanIds = new Set<string>();
  for (const span of unique) {
    const parent = span.parent_span_id;
    if (parent && parent !== span.span_id && ids.has(parent)) {
      const list = children.get(parent);
      if (list) list.push(span);
      else children.set(parent, [span]);
    } else {
      if (parent) orphanIds.add(span.span_id);
      roots.push(span);
    }
  }
  roots.sort(byStart);
  for (const list of children.values()) list.sort(byStart);

  const nodes: TreeNode<S>[] = [];
  const indexById = new Map<string, number>();
  // Iterative depth-first walk: deep agent loops would overflow the call stack if this recursed.
  const visit = (root: S) => {
    const stack: { span: S; depth: number; parentIndex: number }[] = [{ span: root, depth: 0, parentIndex: -1 }];
    while (stack.length > 0) {
      const { span, depth, parentIndex } = stack.pop()!;
      if (indexById.has(span.span_id)) continue; // a parent cycle: every span appears once
      const index = nodes.length;
      indexById.set(span.span_id, index);
      const kids = children.get(span.span_id) ?? [];
      nodes.push({
        span,
        depth,
        parentIndex,
        childCount: kids.length,
        subtreeEnd: index + 1,
        isOrphan: orphanIds.has(span.span_id),
      });
      for (let i = kids.length - 1; i >= 0; i--) stack.push({ span: kids[i]!, depth: depth + 1, parentIndex: index });
    }
  };
  for (const root of roots) visit(root);
  // Spans caught in a parent cycle are reachable from no root; show them as orphans rather than drop them.
  for (const span of unique) {
    if (!indexById.has(span.span_id)) {
      orphanIds.add(span.span_id);
      visit(span);
    }
  }
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (node.parentIndex >= 0) {
      const parent = nodes[node.parentIndex]!;
      parent.subtreeEnd = Math.max(parent.subtreeEnd, node.subtreeEnd);
    }
  }
  let totalMs = 0;
  for (const node of nodes) totalMs = Math.max(totalMs, node.span.offset_ms + node.span.duration_ms);
  return { nodes, indexById, totalMs };
}

/** Indexes (into `tree.nodes`) of the rows shown when the given spans are collapsed. */
export function visibleRows<S extends LayoutInput>(tree: Tree<S>, collapsed: ReadonlySet<string>): number[] {
  const rows: number[] = [];
  let i = 0;
  while (i < tree.nodes.length) {
    const node = tree.nodes[i]!;
    rows.push(i);
    i = collapsed.has(node.span.span_id) ? node.subtreeEnd : i + 1;
  }
  return rows;
}

/** Ids of every ancestor of a span, so that expanding them reveals it. */
export function ancestorIds<S extends LayoutInput>(tree: Tree<S>, spanId: string): string[] {
  const ids: string[] = [];
  let index = tree.indexById.get(spanId) ?? -1;
  index = index >= 0 ? tree.nodes[index]!.parentIndex : -1;
  while (index >= 0) {
    const node = tree.nodes[index]!;
    ids.push(node.span.span_id);
    index = node.parentIndex;
  }
  return ids;
}

export interface BarGeometry {
  leftPct: number;
  widthPct: number;
}

/** Where a span's bar sits in the waterfall, as percentages of the trace's duration; never invisible. */
export function barGeometry(offsetMs: number, durationMs: number, totalMs: number, minWidthPct = 0.3): BarGeometry {
  if (!(totalMs > 0)) return { leftPct: 0, widthPct: 100 };
  const widthPct = Math.min(100, Math.max(minWidthPct, (Math.max(0, durationMs) / totalMs) * 100));
  const leftPct = Math.min(100 - widthPct, Math.max(0, (offsetMs / totalMs) * 100));
  return { leftPct, widthPct };
}

/** Evenly spaced, round-numbered tick marks (1, 2 or 5 × 10^n ms) for the waterfall's time axis. */
export function timeTicks(totalMs: number, maxTicks = 6): number[] {
  if (!(totalMs > 0) || maxTicks < 1) return [0];
  const rough = totalMs / maxTicks;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let t = 0; t <= totalMs + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Next row index when moving by keyboard, staying inside the list. */
export function moveSelection(rowCount: number, current: number, delta: number): number {
  if (rowCount === 0) return -1;
  if (current < 0) return delta >= 0 ? 0 : rowCount - 1;
  return Math.min(rowCount - 1, Math.max(0, current + delta));
}

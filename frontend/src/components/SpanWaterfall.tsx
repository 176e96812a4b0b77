"use client";

/**
 * The span tree and the waterfall as one virtualised list: each row holds the tree cell and the bar, so the
 * two can never drift apart, and only the rows on screen (plus a small overscan) are in the DOM.
 */

import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useEffect, useMemo, useRef } from "react";

import type { SpanItem } from "@/lib/api-types";
import { formatDuration } from "@/lib/format";
import { barGeometry, type Tree, type TreeNode } from "@/lib/layout";

export const ROW_HEIGHT = 24;
const INDENT_PX = 12;
const MAX_INDENT_LEVELS = 32;

interface Props {
  tree: Tree<SpanItem>;
  rows: number[];
  collapsed: ReadonlySet<string>;
  selectedId: string | null;
  matches: ReadonlySet<string>;
  ticks: number[];
  scrollToRow: number;
  onSelect: (spanId: string) => void;
  onToggle: (spanId: string) => void;
}

export function SpanWaterfall({ tree, rows, collapsed, selectedId, matches, ticks, scrollToRow, onSelect, onToggle }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
  });

  useEffect(() => {
    if (scrollToRow >= 0) virtualizer.scrollToIndex(scrollToRow, { align: "auto" });
  }, [scrollToRow, virtualizer]);

  const total = tree.totalMs;
  // Ticks are evenly spaced, so one repeating gradient per row draws every gridline (no extra elements).
  const step = ticks.length > 1 && total > 0 ? ((ticks[1]! - ticks[0]!) / total) * 100 : 0;
  const gridStyle = useMemo<React.CSSProperties>(
    () =>
      step > 0
        ? { backgroundImage: `repeating-linear-gradient(to right, var(--grid) 0 1px, transparent 1px ${step}%)` }
        : {},
    [step],
  );
  return (
    <>
      <div className="treehead">
        <div style={{ padding: "2px 8px" }}>Span</div>
        <div className="axis">
          {ticks.map((t) => (
            <span key={t} className={total > 0 && t / total > 0.92 ? "end" : ""} style={{ left: `${total > 0 ? (t / total) * 100 : 0}%` }}>
              {formatDuration(t)}
            </span>
          ))}
        </div>
      </div>
      <div className="treescroll" ref={scrollRef} data-testid="span-tree" tabIndex={-1}>
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualizer.getVirtualItems().map((item) => {
            const treeIndex = rows[item.index]!;
            const node = tree.nodes[treeIndex]!;
            const id = node.span.span_id;
            return (
              <SpanRow
                key={id}
                node={node}
                descendants={node.subtreeEnd - treeIndex - 1}
                top={item.start}
                total={total}
                gridStyle={gridStyle}
                selected={id === selectedId}
                collapsed={collapsed.has(id)}
                match={matches.has(id)}
                onSelect={onSelect}
                onToggle={onToggle}
              />
            );
          })}
        </div>
      </div>
    </>
  );
}

interface RowProps {
  gridStyle: React.CSSProperties;
  node: TreeNode<SpanItem>;
  descendants: number;
  top: number;
  total: number;
  selected: boolean;
  collapsed: boolean;
  match: boolean;
  onSelect: (spanId: string) => void;
  onToggle: (spanId: string) => void;
}

const SpanRow = memo(function SpanRow({ node, descendants, top, total, gridStyle, selected, collapsed, match, onSelect, onToggle }: RowProps) {
  const span = node.span;
  const isError = span.status_code === "error";
  const { leftPct, widthPct } = barGeometry(span.offset_ms, span.duration_ms, total);
  const indent = Math.min(node.depth, MAX_INDENT_LEVELS) * INDENT_PX;
  const orphan = node.isOrphan || span.is_orphan;
  return (
    <div
      className={`spanrow${selected ? " selected" : ""}${match ? " match" : ""}`}
      style={{ position: "absolute", top: 0, left: 0, right: 0, transform: `translateY(${top}px)` }}
      onClick={() => onSelect(span.span_id)}
      data-testid="span-row"
      data-span-id={span.span_id}
      data-category={span.category}
      aria-selected={selected}
      role="treeitem"
      aria-level={node.depth + 1}
      aria-expanded={node.childCount > 0 ? !collapsed : undefined}
    >
      <div className="spanname" style={{ paddingLeft: 4 + indent }}>
        {node.depth > MAX_INDENT_LEVELS ? <span className="muted mono">{node.depth}›</span> : null}
        {node.childCount > 0 ? (
          <button
            type="button"
            className="toggle"
            aria-label={collapsed ? "Expand" : "Collapse"}
            onClick={(e) => {
              e.stopPropagation();
              onToggle(span.span_id);
            }}
          >
            {collapsed ? "▸" : "▾"}
          </button>
        ) : (
          <span className="toggle" />
        )}
        <span className={`dot cat-${span.category}`} title={span.category} />
        <span className={`name${isError ? " error-name" : ""}`} title={span.name}>
          {span.name || <span className="muted">(unnamed)</span>}
        </span>
        {collapsed ? <span className="muted" title={`${descendants} hidden spans`}>+{descendants}</span> : null}
        {orphan ? (
          <span className="marker orphan" title={`Orphan: parent span ${span.parent_span_id} was never received`}>
            orphan
          </span>
        ) : null}
      </div>
      <div className="track" style={gridStyle}>
        <span
          className={`bar cat-${span.category} status-${span.status_code}${orphan ? " orphan" : ""}`}
          style={{ left: `${leftPct}%`, width: `${widthPct}%` }}
          title={`${span.name}: ${formatDuration(span.duration_ms)} at +${formatDuration(span.offset_ms)}`}
        />
        <span className="barlabel" style={leftPct + widthPct > 75 ? { right: `${100 - leftPct}%`, paddingRight: 4 } : { left: `${leftPct + widthPct}%` }}>
          {isError ? (
            <span className="marker err" title={span.status_message || "error"} data-marker="error">
              !
            </span>
          ) : null}
          {span.retry_count > 0 ? (
            <span className="marker retry" title={`${span.retry_count} retries`} data-marker="retry">
              ↻{span.retry_count}
            </span>
          ) : null}
          {span.is_timeout ? (
            <span className="marker timeout" title="timed out" data-marker="timeout">
              timeout
            </span>
          ) : null}
          {formatDuration(span.duration_ms)}
        </span>
      </div>
    </div>
  );
});

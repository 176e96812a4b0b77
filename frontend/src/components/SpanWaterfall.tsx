"use client";

/**
 * The span tree and the waterfall as one virtualised list: each row holds the tree cell and the bar, so the
 * two can never drift apart, and only the rows on screen (plus a small overscan) are in the DOM. Bars are placed
 * in the zoom window; retry, timeout and exception events are ticks on their bars; the critical path's spans
 * are outlined with their time on the path drawn under the bar.
 */

import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useEffect, useRef } from "react";

import type { SpanItem } from "@/lib/api-types";
import { barLabelPlacement } from "@/lib/bar-label";
import { formatCompact, formatCost, formatDuration } from "@/lib/format";
import type { Tree, TreeNode } from "@/lib/layout";
import { placeInWindow, pointInWindow, type ViewWindow } from "@/lib/zoom";

export const ROW_HEIGHT = 24;
const INDENT_PX = 12;
const MAX_INDENT_LEVELS = 32;

export type CriticalParts = ReadonlyMap<string, readonly [number, number][]>;

interface Props {
  tree: Tree<SpanItem>;
  rows: number[];
  collapsed: ReadonlySet<string>;
  selectedId: string | null;
  matches: ReadonlySet<string>;
  ticks: number[];
  view: ViewWindow;
  critical: CriticalParts | null;
  selfTimes: Readonly<Record<string, number>>;
  scrollToRow: number;
  onSelect: (spanId: string) => void;
  onToggle: (spanId: string) => void;
  onWheelZoom: (factor: number, anchorPct: number) => void;
}

export function SpanWaterfall(props: Props) {
  const { tree, rows, collapsed, selectedId, matches, ticks, view, critical, selfTimes, scrollToRow, onSelect, onToggle, onWheelZoom } = props;
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

  const trackRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const scroller = scrollRef.current;
    if (!scroller) return;
    // Ctrl/⌘ + wheel over the bars zooms around the pointer; a plain wheel keeps scrolling the rows. Added by
    // hand because React's wheel listeners are passive and could not stop the browser's own page zoom.
    const onWheel = (event: WheelEvent) => {
      const rect = trackRef.current?.getBoundingClientRect();
      if (!(event.ctrlKey || event.metaKey) || !rect || event.clientX < rect.left) return;
      event.preventDefault();
      onWheelZoom(event.deltaY > 0 ? 1.25 : 0.8, Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width)));
    };
    scroller.addEventListener("wheel", onWheel, { passive: false });
    return () => scroller.removeEventListener("wheel", onWheel);
  }, [onWheelZoom]);

  const tickPcts = ticks.map((t) => ({ t, pct: pointInWindow(t, view) ?? 0 }));
  return (
    <>
      <div className="treehead">
        <div style={{ padding: "2px 8px" }}>Span</div>
        <div className="axis" data-testid="waterfall-axis">
          {tickPcts.map(({ t, pct }) => (
            <span key={t} className={pct > 92 ? "end" : pct < 3 ? "start" : ""} style={{ left: `${pct}%` }}>
              {formatDuration(t)}
            </span>
          ))}
        </div>
      </div>
      <div className="treescroll" ref={scrollRef} data-testid="span-tree" tabIndex={-1}>
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          <div className="gridlines" aria-hidden="true">
            <div />
            <div className="track" ref={trackRef}>
              {tickPcts.map(({ t, pct }) => (
                <span key={t} style={{ left: `${pct}%` }} />
              ))}
            </div>
          </div>
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
                view={view}
                criticalParts={critical?.get(id)}
                selfMs={selfTimes[id]}
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
  node: TreeNode<SpanItem>;
  descendants: number;
  top: number;
  view: ViewWindow;
  criticalParts: readonly [number, number][] | undefined;
  selfMs: number | undefined;
  selected: boolean;
  collapsed: boolean;
  match: boolean;
  onSelect: (spanId: string) => void;
  onToggle: (spanId: string) => void;
}

const MARK_SYMBOL = { retry: "↻", timeout: "⏱", exception: "✕" } as const;

const SpanRow = memo(function SpanRow(props: RowProps) {
  const { node, descendants, top, view, criticalParts, selfMs, selected, collapsed, match, onSelect, onToggle } = props;
  const span = node.span;
  const isError = span.status_code === "error";
  const bar = placeInWindow(span.offset_ms, span.duration_ms, view);
  const label = barLabelPlacement(bar.leftPct, bar.widthPct);
  const indent = Math.min(node.depth, MAX_INDENT_LEVELS) * INDENT_PX;
  const orphan = node.isOrphan || span.is_orphan;
  const onPath = criticalParts !== undefined;
  const cost = Number(span.cost_usd ?? 0);
  const selfText = selfMs === undefined ? "" : `, self ${formatDuration(selfMs)}`;
  return (
    <div
      className={`spanrow${selected ? " selected" : ""}${match ? " match" : ""}${onPath ? " critical" : ""}`}
      style={{ position: "absolute", top: 0, left: 0, right: 0, transform: `translateY(${top}px)` }}
      onClick={() => onSelect(span.span_id)}
      data-testid="span-row"
      data-span-id={span.span_id}
      data-category={span.category}
      data-critical={onPath ? "true" : undefined}
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
        {span.total_tokens > 0 || cost > 0 ? (
          <span className="rowmeta" data-testid="row-usage" title={`${span.input_tokens} in / ${span.output_tokens} out tokens, ${formatCost(cost)}`}>
            {span.total_tokens > 0 ? `${formatCompact(span.total_tokens)} tok` : null}
            {span.total_tokens > 0 && cost > 0 ? " · " : null}
            {cost > 0 ? formatCost(cost) : null}
          </span>
        ) : null}
      </div>
      <div className="track">
        {bar.visible ? (
          <span
            className={`bar cat-${span.category} status-${span.status_code}${orphan ? " orphan" : ""}`}
            style={{ left: `${bar.leftPct}%`, width: `${bar.widthPct}%` }}
            title={`${span.name}: ${formatDuration(span.duration_ms)} at +${formatDuration(span.offset_ms)}${selfText}`}
          />
        ) : null}
        {criticalParts?.map(([start, end]) => {
          const part = placeInWindow(start, end - start, view, 0);
          return part.visible ? (
            <span key={start} className="critpart" style={{ left: `${part.leftPct}%`, width: `${part.widthPct}%` }} />
          ) : null;
        })}
        {span.marks.map((mark, i) => {
          const at = pointInWindow(span.offset_ms + mark.offset_ms, view);
          return at === null ? null : (
            <span
              key={i}
              className={`evmark ev-${mark.kind}`}
              style={{ left: `${at}%` }}
              title={`${mark.kind} at +${formatDuration(mark.offset_ms)}: ${mark.reason}`}
              data-marker={`event-${mark.kind}`}
            >
              {MARK_SYMBOL[mark.kind]}
            </span>
          );
        })}
        {bar.visible ? (
          <span
            className={`barlabel${label.inside ? " inside" : ""}`}
            style={label.style}
            data-testid="bar-label"
          >
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
        ) : null}
      </div>
    </div>
  );
});

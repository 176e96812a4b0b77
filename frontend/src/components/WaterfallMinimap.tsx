"use client";

/**
 * The whole trace in a strip above the waterfall: every span drawn on one canvas (one line per span in tree
 * order, so 10k spans cost one paint, not 10k elements), with the zoom window on top. Drag across it to zoom
 * to a range, click to move the window there; the buttons zoom in, out and back to the whole trace.
 */

import { useEffect, useRef, useState } from "react";

import type { SpanItem } from "@/lib/api-types";
import { formatDuration } from "@/lib/format";
import type { Tree } from "@/lib/layout";
import { fullWindow, isFull, type ViewWindow, windowFromDrag, zoomAt } from "@/lib/zoom";

const HEIGHT = 36;

interface Props {
  tree: Tree<SpanItem>;
  view: ViewWindow;
  critical: ReadonlySet<string>;
  onChange: (view: ViewWindow) => void;
}

export function WaterfallMinimap({ tree, view, critical, onChange }: Props) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [drag, setDrag] = useState<{ from: number; to: number } | null>(null);
  const total = tree.totalMs;

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const draw = () => {
      const ratio = window.devicePixelRatio || 1;
      const width = canvas.clientWidth;
      canvas.width = Math.max(1, Math.round(width * ratio));
      canvas.height = Math.round(HEIGHT * ratio);
      const context = canvas.getContext("2d");
      if (!context || !(total > 0)) return;
      context.scale(ratio, ratio);
      const style = getComputedStyle(canvas);
      const colour = (name: string) => style.getPropertyValue(name).trim() || "#888";
      const colours: Record<string, string> = {};
      const count = tree.nodes.length;
      const lineHeight = Math.max(1, HEIGHT / Math.max(count, 1));
      tree.nodes.forEach((node, index) => {
        const span = node.span;
        const key = span.status_code === "error" ? "--error" : critical.has(span.span_id) ? "--accent" : `--cat-${span.category}`;
        context.fillStyle = colours[key] ??= colour(key);
        const x = (span.offset_ms / total) * width;
        const w = Math.max(1, (span.duration_ms / total) * width);
        context.fillRect(x, (index / count) * HEIGHT, w, lineHeight);
      });
    };
    draw();
    const observer = new ResizeObserver(draw);
    observer.observe(canvas);
    return () => observer.disconnect();
  }, [tree, total, critical]);

  const msAt = (event: React.PointerEvent<HTMLDivElement>) => {
    const rect = event.currentTarget.getBoundingClientRect();
    return Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width)) * total;
  };
  const shown = drag ? { start: Math.min(drag.from, drag.to), end: Math.max(drag.from, drag.to) } : view;
  const zoom = total > 0 && view.end > view.start ? total / (view.end - view.start) : 1;
  const middle = (view.start + view.end) / 2;
  return (
    <div className="minimap" data-testid="minimap">
      <div
        className="minimap-strip"
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture(e.pointerId);
          const at = msAt(e);
          setDrag({ from: at, to: at });
        }}
        onPointerMove={(e) => {
          if (drag) setDrag({ from: drag.from, to: msAt(e) });
        }}
        onPointerUp={(e) => {
          if (!drag) return;
          onChange(windowFromDrag(drag.from, msAt(e), view, total));
          setDrag(null);
        }}
        title="Drag to zoom to a range, click to move the window"
      >
        <canvas ref={canvasRef} style={{ height: HEIGHT }} />
        <div
          className="minimap-window"
          data-testid="minimap-window"
          style={{ left: `${total > 0 ? (shown.start / total) * 100 : 0}%`, width: `${total > 0 ? ((shown.end - shown.start) / total) * 100 : 100}%` }}
        />
      </div>
      <div className="minimap-tools">
        <button type="button" onClick={() => onChange(zoomAt(view, 0.5, middle, total))} title="Zoom in (Ctrl + wheel over the bars)" data-testid="zoom-in">
          +
        </button>
        <button type="button" onClick={() => onChange(zoomAt(view, 2, middle, total))} disabled={isFull(view, total)} title="Zoom out" data-testid="zoom-out">
          −
        </button>
        <button type="button" onClick={() => onChange(fullWindow(total))} disabled={isFull(view, total)} data-testid="zoom-reset">
          Whole trace
        </button>
        <span className="muted nowrap" data-testid="zoom-level">
          {zoom > 1.001 ? `${zoom.toFixed(zoom < 10 ? 1 : 0)}× · ${formatDuration(view.start)}–${formatDuration(view.end)}` : "whole trace"}
        </span>
      </div>
    </div>
  );
}

/**
 * The waterfall's zoom window: which part of the trace's time (in ms from its start) the bars show, how a
 * bar, a mark or a tick is placed inside it, and how zooming and panning move it. Pure functions.
 */

import { timeTicks } from "./layout";

export interface ViewWindow {
  start: number;
  end: number;
}

/** The narrowest window: a thousandth of the trace (so 10k spans can still be told apart), at least 1 µs. */
export function minWindow(totalMs: number): number {
  return Math.max(totalMs / 1000, 0.001);
}

export function fullWindow(totalMs: number): ViewWindow {
  return { start: 0, end: Math.max(totalMs, 0) };
}

export function isFull(view: ViewWindow, totalMs: number): boolean {
  return view.start <= 0 && view.end >= totalMs;
}

/** The window moved and resized to lie inside [0, total] and be at least `minWindow` wide. */
export function clampWindow(view: ViewWindow, totalMs: number): ViewWindow {
  if (!(totalMs > 0)) return { start: 0, end: 0 };
  const width = Math.min(totalMs, Math.max(minWindow(totalMs), view.end - view.start));
  const start = Math.min(totalMs - width, Math.max(0, view.start));
  return { start, end: start + width };
}

/** Zoom by `factor` (< 1 zooms in) keeping the time under `anchorMs` where it is on screen. */
export function zoomAt(view: ViewWindow, factor: number, anchorMs: number, totalMs: number): ViewWindow {
  const anchor = Math.min(view.end, Math.max(view.start, anchorMs));
  const ratio = view.end > view.start ? (anchor - view.start) / (view.end - view.start) : 0.5;
  const width = (view.end - view.start) * factor;
  return clampWindow({ start: anchor - ratio * width, end: anchor - ratio * width + width }, totalMs);
}

/** A window from a drag between two times (either order); a click (no width) centres the current width there. */
export function windowFromDrag(fromMs: number, toMs: number, current: ViewWindow, totalMs: number): ViewWindow {
  const start = Math.min(fromMs, toMs);
  const end = Math.max(fromMs, toMs);
  if (end - start < minWindow(totalMs)) {
    const half = (current.end - current.start) / 2;
    return clampWindow({ start: fromMs - half, end: fromMs + half }, totalMs);
  }
  return clampWindow({ start, end }, totalMs);
}

export interface Placement {
  leftPct: number;
  widthPct: number;
  /** false when the interval lies wholly outside the window */
  visible: boolean;
}

/** Where an interval sits in the window, in percent of the window's width, clipped to it; never invisible. */
export function placeInWindow(offsetMs: number, durationMs: number, view: ViewWindow, minWidthPct = 0.3): Placement {
  const width = view.end - view.start;
  if (!(width > 0)) return { leftPct: 0, widthPct: 100, visible: true };
  const end = offsetMs + Math.max(0, durationMs);
  const visible = end >= view.start && offsetMs <= view.end;
  const left = ((Math.max(offsetMs, view.start) - view.start) / width) * 100;
  const right = ((Math.min(end, view.end) - view.start) / width) * 100;
  const widthPct = Math.min(100, Math.max(minWidthPct, right - left));
  return { leftPct: Math.min(100 - widthPct, Math.max(0, left)), widthPct, visible };
}

/** Where an instant sits in the window, in percent, or null when outside it. */
export function pointInWindow(atMs: number, view: ViewWindow): number | null {
  const width = view.end - view.start;
  if (!(width > 0) || atMs < view.start || atMs > view.end) return null;
  return ((atMs - view.start) / width) * 100;
}

/** Round-numbered ticks inside the window (absolute ms from the trace's start). */
export function windowTicks(view: ViewWindow, maxTicks = 6): number[] {
  const width = view.end - view.start;
  const steps = timeTicks(width, maxTicks);
  if (steps.length < 2) return [view.start];
  const step = steps[1]!;
  const ticks: number[] = [];
  for (let t = Math.ceil(view.start / step - 1e-9) * step; t <= view.end + step * 1e-9; t += step) {
    ticks.push(Number(t.toPrecision(12)));
  }
  return ticks;
}

/** The window panned (same width) to show an interval that lies outside it; unchanged when it is in view. */
export function panToShow(view: ViewWindow, offsetMs: number, durationMs: number, totalMs: number): ViewWindow {
  const end = offsetMs + Math.max(0, durationMs);
  if (end >= view.start && offsetMs <= view.end) return view;
  const width = view.end - view.start;
  const middle = offsetMs + Math.min(durationMs, width) / 2;
  return clampWindow({ start: middle - width / 2, end: middle + width / 2 }, totalMs);
}

/** What the compare page shows for two runs: the shared time axis, delta badges, the trace selection. Pure. */

import type { CompareRow, StepDelta } from "./api-types";
import { formatCost, formatDuration, formatInt } from "./format";

export type Tone = "worse" | "better" | "changed";

export interface Badge {
  text: string;
  tone: Tone;
  title: string;
}

/** Durations that differ by less than this share and this many ms are noise, not a badge. */
const DURATION_NOISE_SHARE = 0.05;
const DURATION_NOISE_MS = 1;

function signed(value: number, text: string): string {
  return value > 0 ? `+${text}` : value < 0 ? `−${text}` : text;
}

/** Badges for a matched step of run B against run A: slower or faster, tokens, cost, retries, timeouts, status. */
export function deltaBadges(row: CompareRow): Badge[] {
  const delta: StepDelta | null = row.delta;
  if (!delta || !row.a || !row.b) return [];
  const badges: Badge[] = [];
  const change = delta.duration_ms;
  const base = Math.max(row.a.duration_ms, 0.001);
  if (Math.abs(change) >= DURATION_NOISE_MS && Math.abs(change) / base >= DURATION_NOISE_SHARE) {
    badges.push({
      text: signed(change, formatDuration(Math.abs(change))),
      tone: change > 0 ? "worse" : "better",
      title: `${formatDuration(row.a.duration_ms)} → ${formatDuration(row.b.duration_ms)}`,
    });
  }
  if (delta.total_tokens !== 0) {
    badges.push({
      text: `${signed(delta.total_tokens, formatInt(Math.abs(delta.total_tokens)))} tok`,
      tone: delta.total_tokens > 0 ? "worse" : "better",
      title: `${formatInt(row.a.total_tokens)} → ${formatInt(row.b.total_tokens)} tokens`,
    });
  }
  const cost = Number(delta.cost_usd);
  if (cost !== 0 && Number.isFinite(cost)) {
    badges.push({
      text: signed(cost, formatCost(Math.abs(cost))),
      tone: cost > 0 ? "worse" : "better",
      title: `${formatCost(row.a.cost_usd)} → ${formatCost(row.b.cost_usd)}`,
    });
  }
  if (delta.retries !== 0) {
    badges.push({
      text: `${signed(delta.retries, String(Math.abs(delta.retries)))} ↻`,
      tone: delta.retries > 0 ? "worse" : "better",
      title: `${row.a.retry_count} → ${row.b.retry_count} retries`,
    });
  }
  if (delta.timeouts !== 0) {
    badges.push({
      text: delta.timeouts > 0 ? "timed out" : "no timeout",
      tone: delta.timeouts > 0 ? "worse" : "better",
      title: delta.timeouts > 0 ? "Timed out in B, not in A" : "Timed out in A, not in B",
    });
  }
  if (delta.status_changed) {
    badges.push({
      text: `${row.a.status_code} → ${row.b.status_code}`,
      tone: row.b.status_code === "error" ? "worse" : row.a.status_code === "error" ? "better" : "changed",
      title: "Status changed",
    });
  }
  return badges;
}

/** The compare page's axis: both runs from their own start, on the longer run's duration. */
export function sharedAxisMs(durationA: number, durationB: number): number {
  return Math.max(durationA, durationB, 0);
}

/** Toggle a trace in a selection of at most two (selecting a third drops the first picked). */
export function toggleSelection(selected: readonly string[], traceId: string): string[] {
  if (selected.includes(traceId)) return selected.filter((id) => id !== traceId);
  return [...selected, traceId].slice(-2);
}

export function compareHref(a: string, b: string): string {
  return `/compare/?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`;
}

export const DIVERGENCE_TEXT: Record<string, string> = {
  only_in_a: "a step of A is missing from B",
  only_in_b: "B has a step A did not take",
  replaced: "B took a different step here",
  status_changed: "the same step ended differently",
};

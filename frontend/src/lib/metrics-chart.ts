/**
 * Shapes `/api/metrics` answers into chart rows (one per bucket, one column per group), and the trace-list
 * URL a clicked bar leads to: the list's filters, narrowed to that bucket's time and that bar's group.
 */

import type { Metrics, MetricsGroup, MetricsPoint } from "./api-types";
import { listStateQuery, type ListState } from "./filters";

export const MAX_GROUPS = 8;
export const NO_GROUP = "all";

export type ChartRow = { bucket: string; label: string } & Record<string, number | string | null>;

/** The groups to draw: the `MAX_GROUPS` with most traces (or calls) over the range, largest first. */
export function topGroups(metrics: Metrics): string[] {
  const totals = new Map<string, number>();
  for (const point of metrics.series) {
    const measured = metrics.group_by === "model" || metrics.group_by === "tool" ? point.span_count : point.trace_count;
    totals.set(groupName(point), (totals.get(groupName(point)) ?? 0) + measured);
  }
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, MAX_GROUPS)
    .map(([name]) => name);
}

export function groupName(point: MetricsPoint): string {
  return point.group || NO_GROUP;
}

/** One row per bucket (empty buckets included, as 0 for counts and null for latencies). */
export function pivot(metrics: Metrics, groups: string[], value: (point: MetricsPoint) => number | null, empty: number | null = 0): ChartRow[] {
  const byBucket = new Map<string, Map<string, MetricsPoint>>();
  for (const point of metrics.series) {
    if (!byBucket.has(point.bucket_start)) byBucket.set(point.bucket_start, new Map());
    byBucket.get(point.bucket_start)!.set(groupName(point), point);
  }
  return metrics.buckets.map((bucket) => {
    const row: ChartRow = { bucket, label: bucketLabel(bucket, metrics.bucket_seconds) };
    for (const group of groups) {
      const point = byBucket.get(bucket)?.get(group);
      row[group] = point ? value(point) : empty;
    }
    return row;
  });
}

export function bucketLabel(iso: string, bucketSeconds: number): string {
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  return bucketSeconds >= 86_400 ? day : bucketSeconds >= 3600 * 6 ? `${day.slice(5)} ${time}` : time;
}

/** The trace list showing what a bar counts: the same filters, that bucket's time, that group. */
export function bucketListUrl(
  state: ListState,
  bucketStart: string,
  bucketSeconds: number,
  groupBy: MetricsGroup,
  group: string,
  extra: Partial<ListState["filters"]> = {},
): string {
  const start = new Date(bucketStart);
  const end = new Date(start.getTime() + bucketSeconds * 1000 - 1);
  const filters: ListState["filters"] = { ...state.filters, start: start.toISOString(), end: end.toISOString(), ...extra };
  if (groupBy && group !== NO_GROUP) filters[groupBy] = group;
  return `/?${listStateQuery({ filters, range: "", sort: state.sort })}`;
}

/** "minute", "5 min", "hour", "3 h", "day", "week": how wide a bucket is, for chart titles. */
export function bucketWidthLabel(seconds: number): string {
  if (seconds % 604_800 === 0) return seconds === 604_800 ? "week" : `${seconds / 604_800} weeks`;
  if (seconds % 86_400 === 0) return seconds === 86_400 ? "day" : `${seconds / 86_400} days`;
  if (seconds % 3600 === 0) return seconds === 3600 ? "hour" : `${seconds / 3600} h`;
  if (seconds % 60 === 0) return seconds === 60 ? "minute" : `${seconds / 60} min`;
  return seconds === 1 ? "second" : `${seconds} s`;
}

/**
 * The trace list's filters as they live in the page URL, and how they become an `/api/traces` query.
 * The URL keeps the API's own parameter names, plus `range` (a preset such as `1h`) which is turned into a
 * `start` relative to now when the query is made, so a shared "last hour" link means the last hour.
 */

export const FILTER_KEYS = [
  "service",
  "environment",
  "status",
  "model",
  "tool",
  "min_duration_ms",
  "max_duration_ms",
  "min_tokens",
  "max_tokens",
  "min_cost",
  "max_cost",
  "q",
  "has_errors",
  "has_retries",
  "has_timeouts",
  "min_retries",
  "session_id",
  "user",
  "start",
  "end",
] as const;

export type FilterKey = (typeof FILTER_KEYS)[number];

export const SORTS = [
  { value: "newest", label: "Newest" },
  { value: "oldest", label: "Oldest" },
  { value: "slowest", label: "Slowest" },
  { value: "most_expensive", label: "Most expensive" },
  { value: "most_tokens", label: "Most tokens" },
  { value: "fastest", label: "Fastest" },
  { value: "cheapest", label: "Cheapest" },
  { value: "fewest_tokens", label: "Fewest tokens" },
] as const;

/** Column headers that sort the list: each pair is descending, then ascending on a second click. */
export const COLUMN_SORTS = {
  time: ["newest", "oldest"],
  duration: ["slowest", "fastest"],
  tokens: ["most_tokens", "fewest_tokens"],
  cost: ["most_expensive", "cheapest"],
} as const;

export type SortColumn = keyof typeof COLUMN_SORTS;

/** The sort a click on a column header asks for, and the header's arrow for the current sort. */
export function columnSort(column: SortColumn, current: string): { next: string; arrow: "" | "↓" | "↑" } {
  const [descending, ascending] = COLUMN_SORTS[column];
  if (current === descending) return { next: ascending, arrow: "↓" };
  if (current === ascending) return { next: descending, arrow: "↑" };
  return { next: descending, arrow: "" };
}

export const RANGES = [
  { value: "15m", label: "Last 15 min", ms: 15 * 60_000 },
  { value: "1h", label: "Last 1 h", ms: 3_600_000 },
  { value: "24h", label: "Last 24 h", ms: 86_400_000 },
  { value: "7d", label: "Last 7 d", ms: 7 * 86_400_000 },
] as const;

/** A list page's state as it lives in its URL: filters among the page's keys, a preset range and a sort. */
export interface UrlListState<K extends string> {
  filters: Partial<Record<K, string>>;
  range: string;
  sort: string;
}

export type ListState = UrlListState<FilterKey>;

export function parseUrlListState<K extends string>(
  params: URLSearchParams,
  keys: readonly K[],
  sorts: readonly { value: string }[],
): UrlListState<K> {
  const filters: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const value = params.get(key)?.trim();
    if (value) filters[key] = value;
  }
  const range = params.get("range") ?? "";
  const sort = params.get("sort") ?? "newest";
  return {
    filters,
    range: RANGES.some((r) => r.value === range) ? range : "",
    sort: sorts.some((s) => s.value === sort) ? sort : "newest",
  };
}

/** The page URL's query string for a state (empty values and defaults left out, stable order). */
export function urlListStateQuery<K extends string>(state: UrlListState<K>, keys: readonly K[]): string {
  const params = new URLSearchParams();
  if (state.range) params.set("range", state.range);
  for (const key of keys) {
    const value = state.filters[key]?.trim();
    // A preset range wins over a typed start: both in the URL would contradict each other.
    if (value && !(state.range && key === "start")) params.set(key, value);
  }
  if (state.sort && state.sort !== "newest") params.set("sort", state.sort);
  return params.toString();
}

export function parseListState(params: URLSearchParams): ListState {
  return parseUrlListState(params, FILTER_KEYS, SORTS);
}

export function listStateQuery(state: ListState): string {
  return urlListStateQuery(state, FILTER_KEYS);
}

/** The `/api/traces` query for a state at a moment (`now` in ms, so tests can fix it). */
export function apiQuery(state: ListState, now: number, cursor?: string | null, limit = 50): string {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = state.filters[key]?.trim();
    if (!value || (state.range && key === "start")) continue;
    params.set(key, key === "start" || key === "end" ? toIso(value) : value);
  }
  const preset = RANGES.find((r) => r.value === state.range);
  if (preset) params.set("start", new Date(now - preset.ms).toISOString());
  params.set("sort", state.sort || "newest");
  params.set("limit", String(limit));
  if (cursor) params.set("cursor", cursor);
  return params.toString();
}

/** `datetime-local` values carry no zone; they mean the viewer's local time. ISO values pass through. */
export function toIso(value: string): string {
  if (/[zZ]|[+-]\d\d:?\d\d$/.test(value)) return value;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

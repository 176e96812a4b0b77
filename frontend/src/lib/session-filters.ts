/**
 * The sessions page's filters as they live in its URL, and the `/api/sessions` query they make. Names are the
 * API's; `range` is a preset (as on the trace list) turned into a `start` relative to now.
 */

import { RANGES } from "./filters";

export const SESSION_FILTER_KEYS = ["q", "service", "model", "tool", "has_errors", "min_turns"] as const;
export type SessionFilterKey = (typeof SESSION_FILTER_KEYS)[number];

export const SESSION_SORTS = [
  { value: "newest", label: "Latest activity" },
  { value: "oldest", label: "Oldest" },
  { value: "most_turns", label: "Most turns" },
  { value: "longest", label: "Longest" },
  { value: "most_tokens", label: "Most tokens" },
  { value: "most_expensive", label: "Most expensive" },
  { value: "most_errors", label: "Most errors" },
] as const;

export interface SessionListState {
  filters: Partial<Record<SessionFilterKey, string>>;
  range: string;
  sort: string;
}

export function parseSessionState(params: URLSearchParams): SessionListState {
  const filters: Partial<Record<SessionFilterKey, string>> = {};
  for (const key of SESSION_FILTER_KEYS) {
    const value = params.get(key)?.trim();
    if (value) filters[key] = value;
  }
  const range = params.get("range") ?? "";
  const sort = params.get("sort") ?? "newest";
  return {
    filters,
    range: RANGES.some((r) => r.value === range) ? range : "",
    sort: SESSION_SORTS.some((s) => s.value === sort) ? sort : "newest",
  };
}

export function sessionStateQuery(state: SessionListState): string {
  const params = new URLSearchParams();
  if (state.range) params.set("range", state.range);
  for (const key of SESSION_FILTER_KEYS) {
    const value = state.filters[key]?.trim();
    if (value) params.set(key, value);
  }
  if (state.sort !== "newest") params.set("sort", state.sort);
  return params.toString();
}

export function sessionApiQuery(state: SessionListState, now: number, cursor?: string | null, limit = 50): string {
  const params = new URLSearchParams();
  for (const key of SESSION_FILTER_KEYS) {
    const value = state.filters[key]?.trim();
    if (value) params.set(key, value);
  }
  const preset = RANGES.find((r) => r.value === state.range);
  if (preset) params.set("start", new Date(now - preset.ms).toISOString());
  params.set("sort", state.sort);
  params.set("limit", String(limit));
  if (cursor) params.set("cursor", cursor);
  return params.toString();
}

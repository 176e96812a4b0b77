/**
 * The sessions page's filters as they live in its URL, and the `/api/sessions` query they make. Names are the
 * API's; `range` is a preset (as on the trace list) turned into a `start` relative to now.
 */

import { parseUrlListState, RANGES, urlListStateQuery, type UrlListState } from "./filters";

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

export type SessionListState = UrlListState<SessionFilterKey>;

export function parseSessionState(params: URLSearchParams): SessionListState {
  return parseUrlListState(params, SESSION_FILTER_KEYS, SESSION_SORTS);
}

export function sessionStateQuery(state: SessionListState): string {
  return urlListStateQuery(state, SESSION_FILTER_KEYS);
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

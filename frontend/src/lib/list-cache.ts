/**
 * The trace list's loaded pages and scroll position, kept for the browser tab (sessionStorage), so Back from
 * a trace shows the list as it was left instead of its first page at the top. One list is kept: the last.
 * Only a history navigation (Back/Forward) restores it; following a link or changing a filter loads afresh.
 */

import type { TraceCount, TraceSummary } from "./api-types";

export interface CachedList {
  query: string;
  items: TraceSummary[];
  cursor: string | null;
  total: TraceCount | null;
  scrollY: number;
}

const KEY = "tracefoundry:trace-list";
const RECENT_MS = 3000;
let poppedAt = 0;

if (typeof window !== "undefined") {
  window.addEventListener("popstate", () => {
    poppedAt = Date.now();
  });
}

/** True right after Back/Forward, in the app or into a freshly loaded page. */
export function cameBack(now: number = Date.now()): boolean {
  if (now - poppedAt < RECENT_MS) return true;
  const entry = typeof performance === "undefined" ? undefined : performance.getEntriesByType?.("navigation")[0];
  return (entry as PerformanceNavigationTiming | undefined)?.type === "back_forward" && performance.now() < RECENT_MS;
}

export function loadList(query: string, storage: Storage = sessionStorage): CachedList | null {
  try {
    const cached = JSON.parse(storage.getItem(KEY) ?? "null") as CachedList | null;
    return cached && cached.query === query ? cached : null;
  } catch {
    return null;
  }
}

export function saveList(list: CachedList, storage: Storage = sessionStorage): void {
  try {
    storage.setItem(KEY, JSON.stringify(list));
  } catch {
    // Storage full or disabled: Back then reloads the first page, as without this cache.
  }
}

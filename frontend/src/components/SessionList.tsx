"use client";

/** Sessions (conversations): traces grouped by session id, filtered and sorted like the trace list. */

import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useEffect, useMemo, useState } from "react";

import { getJson } from "@/lib/api";
import type { SessionPage, SessionSummary } from "@/lib/api-types";
import { RANGES } from "@/lib/filters";
import { formatCost, formatDuration, formatInt, plural } from "@/lib/format";
import {
  parseSessionState,
  SESSION_SORTS,
  sessionApiQuery,
  type SessionFilterKey,
  type SessionListState,
  sessionStateQuery,
} from "@/lib/session-filters";

import { ErrorState, Loading, Time } from "./common";

export function SessionList() {
  const router = useRouter();
  const query = useSearchParams().toString();
  const state = useMemo(() => parseSessionState(new URLSearchParams(query)), [query]);
  const [items, setItems] = useState<SessionSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const navigate = (next: SessionListState) => {
    const search = sessionStateQuery(next);
    router.push(search ? `/sessions/?${search}` : "/sessions/");
  };

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setError(null);
    getJson<SessionPage>(`/api/sessions?${sessionApiQuery(state, Date.now())}`, controller.signal)
      .then((page) => {
        setItems(page.items);
        setCursor(page.next_cursor);
        setLoading(false);
      })
      .catch((e: unknown) => {
        if (controller.signal.aborted) return;
        setError(e);
        setItems([]);
        setLoading(false);
      });
    return () => controller.abort();
  }, [state]);

  const loadMore = async () => {
    setLoadingMore(true);
    try {
      const page = await getJson<SessionPage>(`/api/sessions?${sessionApiQuery(state, Date.now(), cursor)}`);
      setItems((previous) => [...previous, ...page.items]);
      setCursor(page.next_cursor);
    } catch (e) {
      setError(e);
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <div className="page">
      <h1 className="pagetitle">Sessions</h1>
      <SessionFilters state={state} onChange={navigate} />
      {error ? <ErrorState error={error} what="the sessions" /> : null}
      {loading ? (
        <Loading what="sessions" />
      ) : !error && items.length === 0 ? (
        <div className="state" data-testid="empty">
          No sessions match. Traces join a session when a span carries <code>session.id</code>,{" "}
          <code>gen_ai.conversation.id</code> or <code>langfuse.session.id</code>.
        </div>
      ) : items.length > 0 ? (
        <>
          <table className="traces" data-testid="session-table">
            <thead>
              <tr>
                <th>Last activity</th>
                <th>Session</th>
                <th className="num">Turns</th>
                <th className="num">Duration</th>
                <th>Problems</th>
                <th className="num">Tokens</th>
                <th className="num">Cost</th>
              </tr>
            </thead>
            <tbody>
              {items.map((session) => {
                const href = `/session/?id=${encodeURIComponent(session.session_id)}`;
                return (
                  <tr key={session.session_id} data-testid="session-row" onClick={() => router.push(href)}>
                    <td>
                      <Time iso={session.last_start_time} />
                    </td>
                    <td>
                      <Link href={href} onClick={(e) => e.stopPropagation()} className="mono">
                        {session.session_id}
                      </Link>
                    </td>
                    <td className="num">{formatInt(session.turns)}</td>
                    <td className="num">{formatDuration(session.duration_ms)}</td>
                    <td className="nowrap">
                      {session.error_turns ? <span className="badge error">{plural(session.error_turns, "failed turn")}</span> : null}
                      {session.retry_count ? <span className="badge warn">↻{session.retry_count}</span> : null}
                      {session.timeout_count ? <span className="badge warn">{plural(session.timeout_count, "timeout")}</span> : null}
                    </td>
                    <td className="num">{formatInt(session.total_tokens)}</td>
                    <td className="num">{formatCost(session.cost_usd)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <div style={{ margin: "10px 0", display: "flex", gap: 12, alignItems: "center" }}>
            <span className="muted">{plural(items.length, "session")} shown</span>
            {cursor ? (
              <button type="button" onClick={loadMore} disabled={loadingMore}>
                {loadingMore ? "Loading…" : "Load more"}
              </button>
            ) : (
              <span className="muted">end of list</span>
            )}
          </div>
        </>
      ) : null}
    </div>
  );
}

function SessionFilters({ state, onChange }: { state: SessionListState; onChange: (state: SessionListState) => void }) {
  const [draft, setDraft] = useState(state.filters);
  useEffect(() => setDraft(state.filters), [state.filters]);
  const text = (key: SessionFilterKey, label: string, props: React.ComponentProps<"input"> = {}) => (
    <label>
      {label}
      <input name={key} value={draft[key] ?? ""} onChange={(e) => setDraft({ ...draft, [key]: e.target.value })} {...props} />
    </label>
  );
  return (
    <form
      className="filters"
      onSubmit={(e) => {
        e.preventDefault();
        onChange({ ...state, filters: draft });
      }}
    >
      {text("q", "Search", { className: "wide", type: "search", placeholder: "names, attributes, ids…" })}
      <label>
        Time
        <select name="range" value={state.range} onChange={(e) => onChange({ ...state, filters: draft, range: e.target.value })}>
          <option value="">Any time</option>
          {RANGES.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </select>
      </label>
      {text("service", "Service")}
      {text("model", "Model contains")}
      {text("tool", "Tool contains")}
      {text("min_turns", "Min turns", { type: "number", min: 1, className: "narrow" })}
      <label className="check">
        <input
          type="checkbox"
          name="has_errors"
          checked={state.filters.has_errors === "true"}
          onChange={(e) => onChange({ ...state, filters: { ...draft, has_errors: e.target.checked ? "true" : "" } })}
        />
        with errors
      </label>
      <label>
        Sort
        <select name="sort" value={state.sort} onChange={(e) => onChange({ ...state, filters: draft, sort: e.target.value })}>
          {SESSION_SORTS.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="primary">
        Apply
      </button>
    </form>
  );
}

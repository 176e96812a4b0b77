"use client";

/**
 * The trace list: every `/api/traces` filter kept in the URL, sorting (also by column header), cursor-based
 * "load more", the total count, and the loaded pages and scroll position restored on Back.
 */

import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";

import { getJson } from "@/lib/api";
import type { Facets, TraceCount, TracePage, TraceSummary } from "@/lib/api-types";
import {
  apiQuery,
  columnSort,
  FILTER_KEYS,
  type FilterKey,
  listStateQuery,
  type ListState,
  parseListState,
  RANGES,
  type SortColumn,
  SORTS,
} from "@/lib/filters";
import { toggleSelection } from "@/lib/compare";
import { formatCost, formatDuration, formatInt, plural } from "@/lib/format";
import { cameBack, loadList, saveList } from "@/lib/list-cache";

import { ErrorState, Id, isTyping, Loading, StatusBadge, Time } from "./common";
import { CompareBar, PickCell } from "./CompareSelection";

const EMPTY_FACETS: Facets = { services: [], environments: [], models: [], tools: [] };

export function TraceList() {
  const router = useRouter();
  const params = useSearchParams();
  const query = params.toString();
  const state = useMemo(() => parseListState(new URLSearchParams(query)), [query]);

  const [items, setItems] = useState<TraceSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [total, setTotal] = useState<TraceCount | null>(null);
  const [restoredScroll, setRestoredScroll] = useState<number | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [facets, setFacets] = useState<Facets>(EMPTY_FACETS);
  const [facetsError, setFacetsError] = useState(false);
  const [picked, setPicked] = useState<string[]>([]);

  const navigate = useCallback(
    (next: ListState) => {
      const search = listStateQuery(next);
      router.push(search ? `/?${search}` : "/");
    },
    [router],
  );

  useEffect(() => {
    const cached = cameBack() ? loadList(query) : null;
    if (cached) {
      setItems(cached.items);
      setCursor(cached.cursor);
      setTotal(cached.total);
      setRestoredScroll(cached.scrollY);
      setLoading(false);
      return;
    }
    const controller = new AbortController();
    setLoading(true);
    setError(null);
    getJson<TracePage>(`/api/traces?${apiQuery(state, Date.now())}`, controller.signal)
      .then((page) => {
        setItems(page.items);
        setCursor(page.next_cursor);
        setTotal(page.total);
        setLoading(false);
      })
      .catch((e: unknown) => {
        if (controller.signal.aborted) return;
        setError(e);
        setItems([]);
        setCursor(null);
        setTotal(null);
        setLoading(false);
      });
    return () => controller.abort();
  }, [state, query]);

  // Keep what is loaded, and where the page is scrolled, for Back from a trace.
  const scrollY = useRef(0);
  useEffect(() => {
    if (!loading && !error) saveList({ query, items, cursor, total, scrollY: scrollY.current });
  }, [query, items, cursor, total, loading, error]);
  // Opening a trace records where the list was: the navigation scrolls the window to the top before this
  // page unmounts, so the position is taken at the click, and later scroll events are ignored.
  const leaving = useRef(false);
  const rememberScroll = useCallback(() => {
    scrollY.current = window.scrollY;
    leaving.current = true;
    const cached = loadList(query);
    if (cached) saveList({ ...cached, scrollY: scrollY.current });
  }, [query]);
  useEffect(() => {
    leaving.current = false;
    let timer = 0;
    const onScroll = () => {
      if (leaving.current) return;
      scrollY.current = window.scrollY;
      window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        const cached = loadList(query);
        if (cached && !leaving.current) saveList({ ...cached, scrollY: scrollY.current });
      }, 150);
    };
    window.addEventListener("scroll", onScroll, { passive: true });
    return () => {
      window.removeEventListener("scroll", onScroll);
      window.clearTimeout(timer);
    };
  }, [query]);
  useEffect(() => {
    if (restoredScroll === null) return;
    const frame = window.requestAnimationFrame(() => window.scrollTo(0, restoredScroll));
    return () => window.cancelAnimationFrame(frame);
  }, [restoredScroll]);

  useEffect(() => {
    getJson<Facets>("/api/facets")
      .then(setFacets)
      .catch(() => setFacetsError(true));
  }, []);

  const loadMore = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const page = await getJson<TracePage>(`/api/traces?${apiQuery(state, Date.now(), cursor)}`);
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
      <FilterBar state={state} facets={facets} facetsError={facetsError} onChange={navigate} />
      <div className="listhead">
        <span data-testid="total-count">{loading || !total ? "\u00a0" : totalText(total)}</span>
        <Link href={`/dashboard/${query ? `?${listStateQuery(state)}` : ""}`} data-testid="dashboard-link">
          Dashboard for these filters →
        </Link>
      </div>
      {error ? <ErrorState error={error} what="the trace list" /> : null}
      {loading ? (
        <Loading what="traces" />
      ) : !error && items.length === 0 ? (
        <div className="state" data-testid="empty">
          No traces match these filters.{" "}
          {query ? <Link href="/">Clear all filters</Link> : <>Send spans to <code>/otlp/v1/traces</code> to see them here.</>}
        </div>
      ) : items.length > 0 ? (
        <>
          <CompareBar picked={picked} onClear={() => setPicked([])} />
          <TraceTable
            items={items}
            picked={picked}
            onPick={(id) => setPicked((previous) => toggleSelection(previous, id))}
            sort={state.sort}
            onSort={(sort) => navigate({ ...state, sort })}
            onOpen={rememberScroll}
          />
          <div style={{ margin: "10px 0", display: "flex", gap: 12, alignItems: "center" }}>
            <span className="muted">
              {formatInt(items.length)} shown{total ? <> of {totalText(total)}</> : null}
            </span>
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

function totalText(total: TraceCount): string {
  return total.exact ? plural(total.count, "trace") : `more than ${plural(total.count, "trace")}`;
}

function SortHeader({ column, label, sort, onSort, numeric = false }: { column: SortColumn; label: string; sort: string; onSort: (sort: string) => void; numeric?: boolean }) {
  const { next, arrow } = columnSort(column, sort);
  return (
    <th className={numeric ? "num" : undefined} aria-sort={arrow === "↓" ? "descending" : arrow === "↑" ? "ascending" : "none"}>
      <button type="button" className="sorthead" onClick={() => onSort(next)} data-testid={`sort-${column}`} title={`Sort by ${label.toLowerCase()}`}>
        {label}
        <span aria-hidden="true">{arrow || "↕"}</span>
      </button>
    </th>
  );
}

function TraceTable({
  items,
  picked,
  onPick,
  sort,
  onSort,
  onOpen,
}: {
  items: TraceSummary[];
  picked: readonly string[];
  onPick: (traceId: string) => void;
  sort: string;
  onSort: (sort: string) => void;
  onOpen: () => void;
}) {
  const router = useRouter();
  return (
    <table className="traces" data-testid="trace-table">
      <thead>
        <tr>
          <th className="pick" title="Pick two traces to compare">⇄</th>
          <SortHeader column="time" label="Time" sort={sort} onSort={onSort} />
          <th>Root span</th>
          <th>Trace id</th>
          <th>Service</th>
          <th>Env</th>
          <th>User</th>
          <th>Status</th>
          <SortHeader column="duration" label="Duration" sort={sort} onSort={onSort} numeric />
          <th className="num">Spans</th>
          <th className="num">LLM calls</th>
          <th className="num">Tools</th>
          <SortHeader column="tokens" label="Tokens" sort={sort} onSort={onSort} numeric />
          <SortHeader column="cost" label="Cost" sort={sort} onSort={onSort} numeric />
          <th>Models</th>
        </tr>
      </thead>
      <tbody>
        {items.map((trace) => {
          const href = `/trace/?id=${trace.trace_id}`;
          return (
            <tr key={trace.trace_id} data-testid="trace-row" data-trace-id={trace.trace_id} onClick={() => {
                onOpen();
                router.push(href);
              }}>
              <PickCell traceId={trace.trace_id} picked={picked} onToggle={onPick} />
              <td>
                <Time iso={trace.start_time} />
              </td>
              <td>
                <Link
                  href={href}
                  onClick={(e) => {
                    e.stopPropagation();
                    onOpen();
                  }}
                >
                  {trace.root_span_name || <span className="muted">(no root span)</span>}
                </Link>
              </td>
              <td>
                <Id value={trace.trace_id} short={12} />
              </td>
              <td>{trace.service}</td>
              <td>{trace.environment}</td>
              <td className="mono" data-testid="trace-user">
                {trace.user_id}
              </td>
              <td className="nowrap">
                <StatusBadge status={trace.status} />
                {trace.retry_count > 0 ? <span className="badge warn" title={plural(trace.retry_count, "retry", "retries")}>↻{trace.retry_count}</span> : null}
                {trace.timeout_count > 0 ? <span className="badge warn" title={plural(trace.timeout_count, "timeout")}>{plural(trace.timeout_count, "timeout")}</span> : null}
                {trace.orphan_count > 0 ? <span className="badge" title="orphan spans (parent never received)">orphans {trace.orphan_count}</span> : null}
              </td>
              <td className="num" data-testid="duration" data-ms={trace.duration_ms}>
                {formatDuration(trace.duration_ms)}
              </td>
              <td className="num">{formatInt(trace.span_count)}</td>
              <td className="num">{formatInt(trace.llm_call_count)}</td>
              <td className="num" title={trace.tools.join(", ")}>
                {formatInt(trace.tool_call_count)}
              </td>
              <td className="num" title={`in ${trace.input_tokens} / out ${trace.output_tokens}`}>
                {formatInt(trace.total_tokens)}
              </td>
              <td className="num">{formatCost(trace.cost_usd)}</td>
              <td className="mono">{trace.models.join(", ")}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

type Draft = Partial<Record<FilterKey, string>>;

function FilterBar({
  state,
  facets,
  facetsError,
  onChange,
}: {
  state: ListState;
  facets: Facets;
  facetsError: boolean;
  onChange: (state: ListState) => void;
}) {
  const [draft, setDraft] = useState<Draft>(state.filters);
  const [custom, setCustom] = useState(false);
  const showCustom = !state.range && (custom || Boolean(state.filters.start || state.filters.end));
  const searchRef = useRef<HTMLInputElement>(null);
  useEffect(() => setDraft(state.filters), [state.filters]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "/" && !isTyping(event)) {
        event.preventDefault();
        searchRef.current?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const submit = (overrides: Partial<ListState> & { filters?: Draft } = {}) =>
    onChange({ ...state, filters: { ...draft, ...(overrides.filters ?? {}) }, ...omitFilters(overrides) });

  const text = (key: FilterKey, label: string, props: React.ComponentProps<"input"> = {}) => (
    <label>
      {label}
      <input
        name={key}
        value={draft[key] ?? ""}
        onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
        {...props}
      />
    </label>
  );

  return (
    <form
      className="filters"
      data-testid="filters"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      {text("q", "Search (/)", { className: "wide", placeholder: "names, attributes, ids…", ref: searchRef, type: "search" })}
      <label>
        Time
        <select
          name="range"
          value={state.range || (showCustom ? "custom" : "")}
          onChange={(e) => {
            const value = e.target.value;
            setCustom(value === "custom");
            if (value === "custom") submit({ range: "" });
            else submit({ range: value, filters: { start: "", end: "" } });
          }}
        >
          <option value="">Any time</option>
          {RANGES.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
          <option value="custom">Custom…</option>
        </select>
      </label>
      {showCustom ? (
        <>
          {text("start", "From", { type: "datetime-local", step: 1 })}
          {text("end", "To", { type: "datetime-local", step: 1 })}
        </>
      ) : null}
      {text("service", "Service", { list: "facet-services" })}
      {text("environment", "Environment", { list: "facet-environments" })}
      {text("user", "User id", { placeholder: "exact" })}
      <label>
        Status
        <select name="status" value={state.filters.status ?? ""} onChange={(e) => submit({ filters: { status: e.target.value } })}>
          <option value="">Any</option>
          <option value="ok">ok</option>
          <option value="error">error</option>
        </select>
      </label>
      {text("model", "Model contains", { list: "facet-models" })}
      {text("tool", "Tool contains", { list: "facet-tools" })}
      <fieldset className="flags">
        <legend>Only traces with</legend>
        {(
          [
            ["has_errors", "errors"],
            ["has_retries", "retries"],
            ["has_timeouts", "timeouts"],
          ] as const
        ).map(([key, label]) => (
          <label key={key} className="check">
            <input
              type="checkbox"
              name={key}
              checked={state.filters[key] === "true"}
              onChange={(e) => submit({ filters: { [key]: e.target.checked ? "true" : "" } })}
            />
            {label}
          </label>
        ))}
        <label className="check">
          ≥
          <input className="narrow" name="min_retries" type="number" min={0} placeholder="n" value={draft.min_retries ?? ""} onChange={(e) => setDraft({ ...draft, min_retries: e.target.value })} />
          retries
        </label>
      </fieldset>
      <label>
        Duration ms
        <span className="pair">
          <input className="narrow" name="min_duration_ms" type="number" min={0} placeholder="min" value={draft.min_duration_ms ?? ""} onChange={(e) => setDraft({ ...draft, min_duration_ms: e.target.value })} />
          <input className="narrow" name="max_duration_ms" type="number" min={0} placeholder="max" value={draft.max_duration_ms ?? ""} onChange={(e) => setDraft({ ...draft, max_duration_ms: e.target.value })} />
        </span>
      </label>
      <label>
        Tokens
        <span className="pair">
          <input className="narrow" name="min_tokens" type="number" min={0} placeholder="min" value={draft.min_tokens ?? ""} onChange={(e) => setDraft({ ...draft, min_tokens: e.target.value })} />
          <input className="narrow" name="max_tokens" type="number" min={0} placeholder="max" value={draft.max_tokens ?? ""} onChange={(e) => setDraft({ ...draft, max_tokens: e.target.value })} />
        </span>
      </label>
      <label>
        Cost USD
        <span className="pair">
          <input className="narrow" name="min_cost" type="number" min={0} step="any" placeholder="min" value={draft.min_cost ?? ""} onChange={(e) => setDraft({ ...draft, min_cost: e.target.value })} />
          <input className="narrow" name="max_cost" type="number" min={0} step="any" placeholder="max" value={draft.max_cost ?? ""} onChange={(e) => setDraft({ ...draft, max_cost: e.target.value })} />
        </span>
      </label>
      <label>
        Sort
        <select name="sort" value={state.sort} onChange={(e) => submit({ sort: e.target.value })}>
          {SORTS.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="primary">
        Apply
      </button>
      <button
        type="button"
        onClick={() => {
          setDraft({});
          setCustom(false);
          onChange({ filters: {}, range: "", sort: state.sort });
        }}
        disabled={!FILTER_KEYS.some((k) => state.filters[k]) && !state.range}
      >
        Clear
      </button>
      {facetsError ? <span className="muted">(suggestions unavailable)</span> : null}
      <datalist id="facet-services">{facets.services.map((v) => <option key={v} value={v} />)}</datalist>
      <datalist id="facet-environments">{facets.environments.map((v) => <option key={v} value={v} />)}</datalist>
      <datalist id="facet-models">{facets.models.map((v) => <option key={v} value={v} />)}</datalist>
      <datalist id="facet-tools">{facets.tools.map((v) => <option key={v} value={v} />)}</datalist>
    </form>
  );
}

function omitFilters(overrides: Partial<ListState>): Partial<ListState> {
  const rest: Partial<ListState> = { ...overrides };
  delete rest.filters;
  return rest;
}

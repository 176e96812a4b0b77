"use client";

/**
 * One trace: summary header, "why was this slow", span tree + waterfall (virtualised, zoomable, with a minimap),
 * span inspector, search (names here, attribute values and events on the server), jumps between errors and
 * along the critical path, keyboard navigation, export and dry replay. The selected span is kept in the URL
 * (`&span=`) so a link opens on it.
 */

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";

import { getJson } from "@/lib/api";
import type { SpanItem, SpanPage, SpanSearchResult, TraceDetail } from "@/lib/api-types";
import { compareHref } from "@/lib/compare";
import { formatCost, formatDuration, formatInt, plural } from "@/lib/format";
import { ancestorIds, buildTree, moveSelection, visibleRows } from "@/lib/layout";
import { indexesWhere, mergeMatches, nextTarget } from "@/lib/navigation";
import { clampWindow, fullWindow, panToShow, type ViewWindow, windowTicks, zoomAt } from "@/lib/zoom";

import { DryReplayDialog, ExportDialog } from "./BundleDialogs";
import { ErrorState, Id, isTyping, Loading, StatusBadge, Time } from "./common";
import { roleLabel, useMe, usePermissions } from "./me";
import { SlownessSummary } from "./SlownessSummary";
import { SpanInspector } from "./SpanInspector";
import { SpanWaterfall } from "./SpanWaterfall";
import { WaterfallMinimap } from "./WaterfallMinimap";

const SERVER_SEARCH_DELAY_MS = 250;
const EMPTY_SET: ReadonlySet<string> = new Set();
const EMPTY_SELF_TIMES: Readonly<Record<string, number>> = {};

// The first page is small so the first rows show at once; the rest follows in big pages, in the background.
const FIRST_PAGE = 200;
const NEXT_PAGES = 10_000;

/** Every span of a trace, page after page in tree order; `onPage` gets all spans received so far. */
async function loadSpans(traceId: string, signal: AbortSignal, onPage: (spans: SpanItem[], done: boolean) => void): Promise<void> {
  let spans: SpanItem[] = [];
  let cursor: string | null = null;
  let limit = FIRST_PAGE;
  do {
    const query: string = `?limit=${limit}` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : "");
    const page: SpanPage = await getJson<SpanPage>(`/api/traces/${traceId}/spans${query}`, signal);
    spans = spans.concat(page.items);
    cursor = page.next_cursor;
    limit = NEXT_PAGES;
    onPage(spans, !cursor);
  } while (cursor);
}

export function TraceView() {
  const params = useSearchParams();
  const traceId = (params.get("id") ?? "").trim().toLowerCase();
  const initialSpan = params.get("span");

  const [detail, setDetail] = useState<TraceDetail | null>(null);
  const [spans, setSpans] = useState<SpanItem[] | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [pageError, setPageError] = useState<unknown>(null);

  useEffect(() => {
    if (!traceId) return;
    const controller = new AbortController();
    setDetail(null);
    setSpans(null);
    setLoaded(false);
    setError(null);
    setPageError(null);
    let firstPage = true;
    const onPage = (received: SpanItem[], done: boolean) => {
      firstPage = false;
      setSpans(received);
      setLoaded(done);
    };
    // The critical path reads every span of the trace: the first screen is drawn without it and it follows.
    getJson<TraceDetail>(`/api/traces/${traceId}?critical_path=false`, controller.signal)
      .then((first) => {
        setDetail(first);
        return getJson<TraceDetail>(`/api/traces/${traceId}`, controller.signal);
      })
      .then(setDetail)
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      });
    loadSpans(traceId, controller.signal, onPage).catch((e: unknown) => {
      if (controller.signal.aborted) return;
      // Without a first page there is nothing to show; after it, the spans received so far stay usable.
      if (firstPage) setError(e);
      else setPageError(e);
    });
    return () => controller.abort();
  }, [traceId]);

  if (!traceId) {
    return (
      <div className="page">
        <div className="state">
          No trace id given. <Link href="/">Back to the trace list</Link>.
        </div>
      </div>
    );
  }
  if (error) {
    return (
      <div className="page">
        <ErrorState error={error} what="the trace" />
        <Link href="/">Back to the trace list</Link>
      </div>
    );
  }
  if (!detail || !spans) {
    return (
      <div className="page">
        <Loading what="the trace" />
      </div>
    );
  }
  return <TraceWorkspace detail={detail} spans={spans} loaded={loaded} pageError={pageError} initialSpan={initialSpan} />;
}

function TraceWorkspace({
  detail,
  spans,
  loaded,
  pageError,
  initialSpan,
}: {
  detail: TraceDetail;
  spans: SpanItem[];
  loaded: boolean;
  pageError: unknown;
  initialSpan: string | null;
}) {
  const trace = detail.trace;
  const permissions = usePermissions();
  const { me } = useMe();
  // The trace's own duration sets the waterfall's scale, so bars keep their place while pages arrive.
  const tree = useMemo(() => {
    const built = buildTree(spans);
    return { ...built, totalMs: Math.max(built.totalMs, trace.duration_ms) };
  }, [spans, trace.duration_ms]);
  const [view, setView] = useState<ViewWindow>(() => fullWindow(tree.totalMs));
  const ticks = useMemo(() => windowTicks(view, 6), [view]);
  const [highlight, setHighlight] = useState(true);
  const path = detail.critical_path;
  const criticalIds = useMemo(() => new Set(path?.span_ids ?? []), [path]);
  const criticalParts = useMemo(() => {
    const parts = new Map<string, [number, number][]>();
    for (const segment of path?.segments ?? []) {
      const list = parts.get(segment.span_id) ?? [];
      list.push([segment.start_offset_ms, segment.end_offset_ms]);
      parts.set(segment.span_id, list);
    }
    return parts;
  }, [path]);
  const errorTargets = useMemo(() => indexesWhere(tree.nodes, (span) => span.status_code === "error"), [tree]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const rows = useMemo(() => visibleRows(tree, collapsed), [tree, collapsed]);
  const rowOf = useMemo(() => {
    const map = new Map<number, number>();
    rows.forEach((treeIndex, row) => map.set(treeIndex, row));
    return map;
  }, [rows]);
  const [selectedId, setSelectedId] = useState<string | null>(
    initialSpan && tree.indexById.has(initialSpan) ? initialSpan : (tree.nodes[0]?.span.span_id ?? null),
  );
  const [scrollToRow, setScrollToRow] = useState(-1);
  const linkedSpanShown = useRef(initialSpan === null || selectedId === initialSpan);
  const [search, setSearch] = useState("");
  const [dialog, setDialog] = useState<"export" | "replay" | null>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const term = search.trim();
  const [remote, setRemote] = useState<{ term: string; ids: string[] }>({ term: "", ids: [] });
  useEffect(() => {
    if (!term) return;
    // The server also looks in attribute values and event attributes, which the span list does not carry.
    const controller = new AbortController();
    const timer = window.setTimeout(() => {
      getJson<SpanSearchResult>(`/api/traces/${detail.trace.trace_id}/search?q=${encodeURIComponent(term)}`, controller.signal)
        .then((result) => setRemote({ term, ids: result.span_ids }))
        .catch(() => {
          // Name matches still work without it; a failed search is not worth an error page.
        });
    }, SERVER_SEARCH_DELAY_MS);
    return () => {
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [term, detail.trace.trace_id]);
  const matches = useMemo(() => {
    const lower = term.toLowerCase();
    if (!lower) return [] as string[];
    const local = tree.nodes
      .filter(({ span }) =>
        [span.name, span.model, span.tool_name, span.span_id, span.service, span.category].some((v) => v?.toLowerCase().includes(lower)),
      )
      .map((n) => n.span.span_id);
    return mergeMatches(local, remote.term === term ? remote.ids : [], tree.indexById);
  }, [term, remote, tree]);
  const matchSet = useMemo(() => new Set(matches), [matches]);

  const select = useCallback(
    (spanId: string, scroll = false) => {
      setSelectedId(spanId);
      const url = new URL(window.location.href);
      url.searchParams.set("span", spanId);
      window.history.replaceState(window.history.state, "", url.toString());
      if (scroll) {
        const treeIndex = tree.indexById.get(spanId);
        const row = treeIndex === undefined ? undefined : rowOf.get(treeIndex);
        if (row !== undefined) setScrollToRow(row);
      }
    },
    [tree, rowOf],
  );

  useEffect(() => {
    // A link to a span beyond the first page: select it when its page arrives.
    if (!linkedSpanShown.current && initialSpan && tree.indexById.has(initialSpan)) {
      linkedSpanShown.current = true;
      select(initialSpan, true);
    }
  }, [tree, initialSpan, select]);

  const reveal = useCallback(
    (spanId: string) => {
      const treeIndexOfSpan = tree.indexById.get(spanId);
      if (treeIndexOfSpan === undefined) return;
      const target = tree.nodes[treeIndexOfSpan]!.span;
      setView((current) => panToShow(current, target.offset_ms, target.duration_ms, tree.totalMs));
      const hidden = ancestorIds(tree, spanId).filter((id) => collapsed.has(id));
      if (hidden.length > 0) {
        const next = new Set(collapsed);
        hidden.forEach((id) => next.delete(id));
        setCollapsed(next);
        const treeIndex = tree.indexById.get(spanId)!;
        const row = visibleRows(tree, next).indexOf(treeIndex);
        setSelectedId(spanId);
        setScrollToRow(row);
      } else {
        select(spanId, true);
      }
    },
    [tree, collapsed, select],
  );

  const toggle = useCallback((spanId: string) => {
    setCollapsed((previous) => {
      const next = new Set(previous);
      if (next.has(spanId)) next.delete(spanId);
      else next.add(spanId);
      return next;
    });
  }, []);

  const selectedIndex = selectedId ? tree.indexById.get(selectedId) : undefined;
  const selectedRow = selectedIndex === undefined ? -1 : (rowOf.get(selectedIndex) ?? -1);

  const jumpToError = useCallback(
    (direction: 1 | -1) => {
      const target = nextTarget(errorTargets, selectedIndex ?? -1, direction);
      if (target !== undefined) reveal(tree.nodes[target]!.span.span_id);
    },
    [errorTargets, selectedIndex, reveal, tree],
  );
  const stepOnPath = useCallback(
    (direction: 1 | -1) => {
      const ids = path?.span_ids ?? [];
      const target = nextTarget(
        ids.map((_, i) => i),
        selectedId ? ids.indexOf(selectedId) : -1,
        direction,
      );
      if (target !== undefined) reveal(ids[target]!);
    },
    [path, selectedId, reveal],
  );
  const wheelZoom = useCallback(
    (factor: number, anchorPct: number) =>
      setView((current) => zoomAt(current, factor, current.start + anchorPct * (current.end - current.start), tree.totalMs)),
    [tree.totalMs],
  );

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (dialog) return;
      if (event.key === "/" && !isTyping(event)) {
        event.preventDefault();
        searchRef.current?.focus();
        searchRef.current?.select();
        return;
      }
      if (isTyping(event) || event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.key === "e" || event.key === "E") {
        event.preventDefault();
        jumpToError(event.shiftKey ? -1 : 1);
        return;
      }
      const node = selectedIndex === undefined ? undefined : tree.nodes[selectedIndex];
      const go = (row: number) => {
        const treeIndex = rows[row];
        if (treeIndex !== undefined) select(tree.nodes[treeIndex]!.span.span_id, true);
      };
      switch (event.key) {
        case "ArrowDown":
          go(moveSelection(rows.length, selectedRow, 1));
          break;
        case "ArrowUp":
          go(moveSelection(rows.length, selectedRow, -1));
          break;
        case "PageDown":
          go(moveSelection(rows.length, selectedRow, 20));
          break;
        case "PageUp":
          go(moveSelection(rows.length, selectedRow, -20));
          break;
        case "Home":
          go(0);
          break;
        case "End":
          go(rows.length - 1);
          break;
        case "ArrowRight":
          if (node && node.childCount > 0) {
            if (collapsed.has(node.span.span_id)) toggle(node.span.span_id);
            else go(selectedRow + 1);
          }
          break;
        case "ArrowLeft":
          if (node && node.childCount > 0 && !collapsed.has(node.span.span_id)) toggle(node.span.span_id);
          else if (node && node.parentIndex >= 0) select(tree.nodes[node.parentIndex]!.span.span_id, true);
          break;
        default:
          return;
      }
      event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [dialog, rows, selectedRow, selectedIndex, tree, collapsed, select, toggle, jumpToError]);

  const nextMatch = (backwards: boolean) => {
    if (matches.length === 0) return;
    const current = selectedId ? matches.indexOf(selectedId) : -1;
    const next = backwards ? (current <= 0 ? matches.length - 1 : current - 1) : (current + 1) % matches.length;
    reveal(matches[next]!);
  };

  const selectedSpan = selectedIndex === undefined ? null : tree.nodes[selectedIndex]!.span;
  const orphanCount = tree.nodes.filter((n) => n.isOrphan).length;
  const matchPosition = selectedId ? matches.indexOf(selectedId) : -1;

  return (
    <div className="detail">
      <section className="summary" data-testid="trace-summary">
        <div className="actions">
          <button type="button" onClick={() => setDialog("export")} data-testid="open-export">
            Export…
          </button>
          {detail.previous_run_id ? (
            <Link href={compareHref(detail.previous_run_id, trace.trace_id)} className="button" data-testid="compare-previous">
              Compare with previous run
            </Link>
          ) : (
            <button type="button" disabled title="No earlier trace of this service has the same root span name" data-testid="compare-previous">
              Compare with previous run
            </button>
          )}
          <button
            type="button"
            onClick={() => setDialog("replay")}
            disabled={!permissions.dry_replay}
            title={permissions.dry_replay ? "Check the tree, payload refs and hashes" : `Needs the engineer or admin role (you are ${roleLabel(me)})`}
            data-testid="open-dry-replay"
          >
            Dry replay
          </button>
        </div>
        <h1>{trace.root_span_name || "(no root span)"}</h1>
        <StatusBadge status={trace.status} />{" "}
        {trace.source === "bundle_import" ? <span className="badge">imported bundle</span> : null}
        <dl>
          <div>
            <dt>trace</dt>
            <dd>
              <Id value={trace.trace_id} />
            </dd>
          </div>
          <div>
            <dt>start</dt>
            <dd>
              <Time iso={trace.start_time} />
            </dd>
          </div>
          <div>
            <dt>duration</dt>
            <dd>{formatDuration(trace.duration_ms)}</dd>
          </div>
          <div>
            <dt>spans</dt>
            <dd>
              {formatInt(trace.span_count)}
              {trace.error_count ? (
                <>
                  {" · "}
                  <button
                    type="button"
                    className="linkish error-link"
                    onClick={() => errorTargets.length && reveal(tree.nodes[errorTargets[0]!]!.span.span_id)}
                    title="Go to the first failed span"
                    data-testid="jump-first-error"
                  >
                    {plural(trace.error_count, "error")}
                  </button>
                </>
              ) : null}
              {trace.retry_count ? <> · {plural(trace.retry_count, "retry", "retries")}</> : null}
              {trace.timeout_count ? <> · {plural(trace.timeout_count, "timeout")}</> : null}
              {orphanCount ? <> · {plural(orphanCount, "orphan")}</> : null}
            </dd>
          </div>
          <div>
            <dt>tokens</dt>
            <dd>
              {formatInt(trace.input_tokens)} in / {formatInt(trace.output_tokens)} out
            </dd>
          </div>
          <div>
            <dt>cost</dt>
            <dd>{formatCost(trace.cost_usd)}</dd>
          </div>
          <div>
            <dt>models</dt>
            <dd className="mono">
              {detail.models.length
                ? detail.models.map((m) => `${m.model} ×${m.call_count}`).join(", ")
                : trace.models.join(", ") || "—"}
            </dd>
          </div>
          <div>
            <dt>services</dt>
            <dd>{detail.services.length ? detail.services.map((s) => s.service).join(", ") : trace.service || "—"}</dd>
          </div>
          <div>
            <dt>env</dt>
            <dd>{trace.environment || "—"}</dd>
          </div>
          {trace.session_id ? (
            <div>
              <dt>session</dt>
              <dd className="mono" data-testid="trace-session">
                <Link href={`/session/?id=${encodeURIComponent(trace.session_id)}`}>{trace.session_id}</Link>
              </dd>
            </div>
          ) : null}
          {trace.user_id ? (
            <div>
              <dt>user</dt>
              <dd className="mono" data-testid="trace-user">
                <Link href={`/?user=${encodeURIComponent(trace.user_id)}`} title="This user's traces">
                  {trace.user_id}
                </Link>
              </dd>
            </div>
          ) : null}
        </dl>
      </section>
      {path ? (
        <SlownessSummary path={path} highlight={highlight} onHighlight={setHighlight} onJump={reveal} onStep={stepOnPath} />
      ) : (
        <div className="slowness muted" data-testid="slowness-pending">
          Working out the critical path…
        </div>
      )}
      <div className="workspace">
        <div className="treepane">
          <div className="treetools">
            <input
              ref={searchRef}
              type="search"
              placeholder="Find span… (press /)"
              value={search}
              data-testid="span-search"
              onChange={(e) => setSearch(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter") {
                  e.preventDefault();
                  nextMatch(e.shiftKey);
                } else if (e.key === "Escape") {
                  setSearch("");
                  e.currentTarget.blur();
                }
              }}
            />
            {search ? (
              <span className="muted">
                {matches.length === 0 ? "no match" : `${matchPosition >= 0 ? matchPosition + 1 : "–"} of ${matches.length}`}
              </span>
            ) : null}
            <button type="button" onClick={() => jumpToError(-1)} disabled={errorTargets.length === 0} title="Previous failed span (Shift+E)" data-testid="error-previous">
              ◀ error
            </button>
            <button type="button" onClick={() => jumpToError(1)} disabled={errorTargets.length === 0} title="Next failed span (E)" data-testid="error-next">
              error ▶
            </button>
            <span style={{ flex: 1 }} />
            {!loaded ? (
              <span className="muted" data-testid="spans-loading">
                {pageError ? "stopped loading at" : "loading"} {formatInt(spans.length)} of {formatInt(trace.span_count)} spans
                {pageError ? ` (${pageError instanceof Error ? pageError.message : "request failed"})` : "…"}
              </span>
            ) : null}
            <button type="button" onClick={() => setCollapsed(new Set())}>
              Expand all
            </button>
            <button
              type="button"
              onClick={() => setCollapsed(new Set(tree.nodes.filter((n) => n.depth === 0 && n.childCount > 0).map((n) => n.span.span_id)))}
            >
              Collapse all
            </button>
            <span className="muted" title="↑ ↓ move · ← collapse / parent · → expand / child · / search · E / Shift+E next / previous error">
              <kbd>↑</kbd>
              <kbd>↓</kbd>
              <kbd>←</kbd>
              <kbd>→</kbd> <kbd>/</kbd>
            </span>
          </div>
          <WaterfallMinimap tree={tree} view={view} critical={highlight ? criticalIds : EMPTY_SET} onChange={(next) => setView(clampWindow(next, tree.totalMs))} />
          <SpanWaterfall
            tree={tree}
            rows={rows}
            collapsed={collapsed}
            selectedId={selectedId}
            matches={matchSet}
            ticks={ticks}
            view={view}
            critical={highlight ? criticalParts : null}
            selfTimes={path?.self_time_ms ?? EMPTY_SELF_TIMES}
            scrollToRow={scrollToRow}
            onSelect={select}
            onToggle={toggle}
            onWheelZoom={wheelZoom}
          />
        </div>
        <SpanInspector span={selectedSpan} />
      </div>
      {dialog === "export" ? <ExportDialog traceId={trace.trace_id} onClose={() => setDialog(null)} /> : null}
      {dialog === "replay" ? <DryReplayDialog traceId={trace.trace_id} onClose={() => setDialog(null)} /> : null}
    </div>
  );
}

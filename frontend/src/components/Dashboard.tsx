"use client";

/**
 * Dashboards from `/api/metrics`, with the trace list's filters (same URL parameters, plus `group_by`):
 * traces (or calls) per time bucket, error rate, latency percentiles, tokens and cost, and per-tool and
 * per-model tables. A bar leads to the trace list of its bucket and group; a table row to its tool or model.
 */

import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useEffect, useMemo, useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { getJson } from "@/lib/api";
import type { Metrics, MetricsGroup, MetricsPoint, ToolMetrics } from "@/lib/api-types";
import { apiQuery, listStateQuery, parseListState, RANGES } from "@/lib/filters";
import { formatCost, formatDuration, formatInt } from "@/lib/format";
import { bucketListUrl, bucketWidthLabel, type ChartRow, NO_GROUP, pivot, topGroups } from "@/lib/metrics-chart";

import { ErrorState, Loading } from "./common";

const PALETTE = ["#1f6feb", "#bc4c00", "#8250df", "#0a7d6c", "#cf222e", "#9a6700", "#57606a", "#0969da"];
const GROUPS: { value: MetricsGroup; label: string }[] = [
  { value: "", label: "Nothing" },
  { value: "service", label: "Service" },
  { value: "model", label: "Model" },
  { value: "tool", label: "Tool" },
];
const CHART_HEIGHT = 220;

export function Dashboard() {
  const router = useRouter();
  const query = useSearchParams().toString();
  const params = useMemo(() => new URLSearchParams(query), [query]);
  const state = useMemo(() => parseListState(params), [params]);
  const groupBy = (GROUPS.find((g) => g.value === params.get("group_by"))?.value ?? "") as MetricsGroup;
  const bucketSeconds = /^\d+$/.test(params.get("bucket_seconds") ?? "") ? (params.get("bucket_seconds") ?? "") : "";
  const [metrics, setMetrics] = useState<Metrics | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const controller = new AbortController();
    setError(null);
    setMetrics(null);
    const api = new URLSearchParams(apiQuery(state, Date.now()));
    api.delete("sort");
    api.delete("limit");
    if (groupBy) api.set("group_by", groupBy);
    if (bucketSeconds) api.set("bucket_seconds", bucketSeconds);
    getJson<Metrics>(`/api/metrics?${api.toString()}`, controller.signal)
      .then(setMetrics)
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      });
    return () => controller.abort();
  }, [state, groupBy, bucketSeconds]);

  const setParam = (name: string, value: string) => {
    const next = new URLSearchParams(query);
    if (value) next.set(name, value);
    else next.delete(name);
    if (name === "range") {
      next.delete("start");
      next.delete("end");
    }
    router.push(`/dashboard/?${next.toString()}`);
  };
  const listQuery = listStateQuery(state);

  return (
    <div className="page dashboard" data-testid="dashboard">
      <h1 className="pagetitle">Dashboard</h1>
      <div className="filters">
        <label>
          Time
          <select name="range" value={state.range} onChange={(e) => setParam("range", e.target.value)}>
            <option value="">{state.filters.start || state.filters.end ? "Custom" : "Any time"}</option>
            {RANGES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Group by
          <select name="group_by" value={groupBy} onChange={(e) => setParam("group_by", e.target.value)}>
            {GROUPS.map((g) => (
              <option key={g.value} value={g.value}>
                {g.label}
              </option>
            ))}
          </select>
        </label>
        <FilterSummary filters={state.filters} />
        <Link href={listQuery ? `/?${listQuery}` : "/"} data-testid="list-link" style={{ alignSelf: "center" }}>
          ← Traces with these filters
        </Link>
      </div>
      {error ? <ErrorState error={error} what="the metrics" /> : null}
      {!metrics && !error ? <Loading what="metrics" /> : null}
      {metrics ? (
        metrics.buckets.length === 0 ? (
          <div className="state" data-testid="empty">
            No traces match these filters. <Link href="/dashboard/">Clear all filters</Link>
          </div>
        ) : (
          <Charts metrics={metrics} onBar={(row, group, extra) => router.push(bucketListUrl(state, String(row.bucket), metrics.bucket_seconds, metrics.group_by as MetricsGroup, group, extra))} />
        )
      ) : null}
      {metrics && metrics.buckets.length > 0 ? (
        <div className="dashtables">
          <CallTable title="Tools" rows={metrics.tools.map((t) => ({ ...t, name: t.tool }))} filter="tool" listQuery={listQuery} />
          <CallTable title="Models" rows={metrics.models.map((m) => ({ ...m, name: m.model }))} filter="model" listQuery={listQuery} />
        </div>
      ) : null}
    </div>
  );
}

function FilterSummary({ filters }: { filters: Record<string, string | undefined> }) {
  const set = Object.entries(filters).filter(([, value]) => value);
  if (set.length === 0) return null;
  return (
    <span className="muted" style={{ alignSelf: "center" }} data-testid="filter-summary">
      {set.map(([key, value]) => `${key}=${value}`).join(" · ")}
    </span>
  );
}

type BarClick = (row: ChartRow, group: string, extra?: Record<string, string>) => void;

function Charts({ metrics, onBar }: { metrics: Metrics; onBar: BarClick }) {
  const groups = topGroups(metrics);
  const bySpan = metrics.group_by === "model" || metrics.group_by === "tool";
  const countOf = (p: MetricsPoint) => (bySpan ? p.span_count : p.trace_count);
  const counted = bySpan ? `${metrics.group_by === "model" ? "Model" : "Tool"} calls` : "Traces";
  const width = bucketWidthLabel(metrics.bucket_seconds);
  return (
    <div className="charts">
      <StackedBars title={`${counted} per ${width}`} testId="chart-count" rows={pivot(metrics, groups, countOf)} groups={groups} onBar={onBar} />
      <StackedBars
        title={`Errors per ${width} (click: the failing ones)`}
        testId="chart-errors"
        rows={pivot(metrics, groups, (p) => p.error_count)}
        groups={groups}
        onBar={(row, group) => onBar(row, group, bySpan ? {} : { has_errors: "true" })}
      />
      <LatencyChart metrics={metrics} groups={groups} />
      <StackedBars title={`Tokens per ${width}`} testId="chart-tokens" rows={pivot(metrics, groups, (p) => p.total_tokens)} groups={groups} onBar={onBar} />
      <StackedBars title={`Cost (USD) per ${width}`} testId="chart-cost" rows={pivot(metrics, groups, (p) => Number(p.cost_usd))} groups={groups} onBar={onBar} format={(v) => formatCost(v)} />
    </div>
  );
}

function StackedBars({
  title,
  testId,
  rows,
  groups,
  onBar,
  format = (v: number) => formatInt(v),
}: {
  title: string;
  testId: string;
  rows: ChartRow[];
  groups: string[];
  onBar: BarClick;
  format?: (value: number) => string;
}) {
  return (
    <section className="chart" data-testid={testId}>
      <h2>{title}</h2>
      <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
        <BarChart data={rows} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="label" fontSize={11} minTickGap={16} />
          <YAxis fontSize={11} width={56} tickFormatter={(v: number) => format(v)} />
          <Tooltip formatter={(value) => format(Number(value))} />
          {groups.length > 1 ? <Legend wrapperStyle={{ fontSize: 11 }} /> : null}
          {groups.map((group, i) => (
            <Bar
              key={group}
              dataKey={group}
              name={group === NO_GROUP ? "all" : group}
              stackId="one"
              fill={PALETTE[i % PALETTE.length]}
              isAnimationActive={false}
              onClick={(entry: { payload?: ChartRow }) => entry.payload && onBar(entry.payload, group)}
            />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </section>
  );
}

function LatencyChart({ metrics, groups }: { metrics: Metrics; groups: string[] }) {
  const single = groups.length <= 1;
  // One group: its p50, p95 and p99. Several: each group's p95, or the chart is unreadable.
  const rows = single
    ? pivot(metrics, groups, (p) => p.p50_ms, null).map((row, i) => ({
        ...row,
        p50: row[groups[0] ?? NO_GROUP] ?? null,
        p95: pivot(metrics, groups, (p) => p.p95_ms, null)[i]?.[groups[0] ?? NO_GROUP] ?? null,
        p99: pivot(metrics, groups, (p) => p.p99_ms, null)[i]?.[groups[0] ?? NO_GROUP] ?? null,
      }))
    : pivot(metrics, groups, (p) => p.p95_ms, null);
  const lines = single ? ["p50", "p95", "p99"] : groups;
  return (
    <section className="chart" data-testid="chart-latency">
      <h2>{single ? "Latency p50 / p95 / p99" : "Latency p95 by group"}</h2>
      <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
        <LineChart data={rows} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="label" fontSize={11} minTickGap={16} />
          <YAxis fontSize={11} width={56} tickFormatter={(v: number) => formatDuration(v)} />
          <Tooltip formatter={(value) => formatDuration(Number(value))} />
          <Legend wrapperStyle={{ fontSize: 11 }} />
          {lines.map((line, i) => (
            <Line key={line} dataKey={line} stroke={PALETTE[i % PALETTE.length]} dot={false} connectNulls isAnimationActive={false} />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </section>
  );
}

/** A row of the tools or models table, named by its tool or model. */
type CallRow = Omit<ToolMetrics, "tool"> & { name: string };

function CallTable({
  title,
  rows,
  filter,
  listQuery,
}: {
  title: string;
  rows: CallRow[];
  filter: "tool" | "model";
  listQuery: string;
}) {
  return (
    <section data-testid={`table-${filter}`}>
      <h2>{title}</h2>
      {rows.length === 0 ? (
        <p className="muted">No {filter} calls in these traces.</p>
      ) : (
        <table className="traces">
          <thead>
            <tr>
              <th>{filter === "tool" ? "Tool" : "Model"}</th>
              <th className="num">Calls</th>
              <th className="num">Errors</th>
              <th className="num">Error rate</th>
              <th className="num">Retries</th>
              <th className="num">Timeouts</th>
              <th className="num">p50</th>
              <th className="num">p95</th>
              <th className="num">p99</th>
              {filter === "model" ? <th className="num">Tokens</th> : null}
              {filter === "model" ? <th className="num">Cost</th> : null}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => {
              const params = new URLSearchParams(listQuery);
              params.set(filter, row.name);
              return (
                <tr key={row.name}>
                  <td className="mono">
                    <Link href={`/?${params.toString()}`}>{row.name}</Link>
                  </td>
                  <td className="num">{formatInt(row.call_count)}</td>
                  <td className="num">{formatInt(row.error_count)}</td>
                  <td className="num">{(row.error_rate * 100).toFixed(1)}%</td>
                  <td className="num">{formatInt(row.retry_count)}</td>
                  <td className="num">{formatInt(row.timeout_count)}</td>
                  <td className="num">{formatDuration(row.p50_ms)}</td>
                  <td className="num">{formatDuration(row.p95_ms)}</td>
                  <td className="num">{formatDuration(row.p99_ms)}</td>
                  {filter === "model" ? <td className="num">{formatInt(row.total_tokens)}</td> : null}
                  {filter === "model" ? <td className="num">{formatCost(row.cost_usd)}</td> : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

"use client";

/**
 * Two runs of an agent side by side (`/compare/?a=<trace id>&b=<trace id>`): their summaries and deltas, then
 * their steps aligned row by row (virtualised) with both runs' bars on one time axis, delta badges, and the
 * first divergence marked. A selected row shows both steps and, for roles that may read payloads, the diff of
 * their prompts, completions and tool I/O.
 */

import { useVirtualizer } from "@tanstack/react-virtual";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useEffect, useMemo, useRef, useState } from "react";

import { getJson } from "@/lib/api";
import type { CompareRow, CompareStep, Comparison, PayloadDiff, RunTotals, TraceSummary } from "@/lib/api-types";
import { deltaBadges, DIVERGENCE_TEXT, sharedAxisMs } from "@/lib/compare";
import { formatCost, formatDuration, formatInt } from "@/lib/format";
import { barGeometry, timeTicks } from "@/lib/layout";

import { ErrorState, Id, Loading, StatusBadge, Time } from "./common";

const ROW_HEIGHT = 34;

export function CompareView() {
  const params = useSearchParams();
  const a = (params.get("a") ?? "").trim().toLowerCase();
  const b = (params.get("b") ?? "").trim().toLowerCase();
  const [comparison, setComparison] = useState<Comparison | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    if (!a || !b) return;
    const controller = new AbortController();
    setComparison(null);
    setError(null);
    getJson<Comparison>(`/api/traces/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`, controller.signal)
      .then(setComparison)
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      });
    return () => controller.abort();
  }, [a, b]);

  if (!a || !b) {
    return (
      <div className="page">
        <div className="state">
          Pick two traces to compare: tick them in the <Link href="/">trace list</Link>, or open a trace and use
          “Compare with previous run”.
        </div>
      </div>
    );
  }
  if (error) {
    return (
      <div className="page">
        <ErrorState error={error} what="these two traces" />
        <Link href="/">Back to the trace list</Link>
      </div>
    );
  }
  if (!comparison) {
    return (
      <div className="page">
        <Loading what="the comparison" />
      </div>
    );
  }
  return <CompareWorkspace comparison={comparison} />;
}

function CompareWorkspace({ comparison }: { comparison: Comparison }) {
  const { summary, rows, divergence } = comparison;
  const [selected, setSelected] = useState<number>(divergence?.row ?? 0);
  const [scrollTo, setScrollTo] = useState(-1);
  const axis = sharedAxisMs(comparison.a.duration_ms, comparison.b.duration_ms);
  const ticks = useMemo(() => timeTicks(axis, 6), [axis]);
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 15,
  });
  useEffect(() => {
    if (scrollTo >= 0) virtualizer.scrollToIndex(scrollTo, { align: "center" });
  }, [scrollTo, virtualizer]);

  const goToDivergence = () => {
    if (!divergence) return;
    setSelected(divergence.row);
    setScrollTo(divergence.row);
  };
  const selectedRow = rows[selected];

  return (
    <div className="compare" data-testid="compare">
      <h1>Compare runs</h1>
      <div className="compare-runs">
        <RunCard label="A" trace={comparison.a} />
        <RunCard label="B" trace={comparison.b} />
      </div>
      <table className="deltas" data-testid="compare-summary">
        <thead>
          <tr>
            <th />
            <th>A</th>
            <th>B</th>
            <th>B − A</th>
          </tr>
        </thead>
        <tbody>
          {TOTALS.map(([key, label, format]) => (
            <tr key={key}>
              <td>{label}</td>
              <td>{format(summary.a[key])}</td>
              <td>{format(summary.b[key])}</td>
              <td data-testid={`delta-${key}`}>{signedText(summary.delta[key], format)}</td>
            </tr>
          ))}
          <tr>
            <td>steps matched / only A / only B</td>
            <td colSpan={3} data-testid="alignment-counts">
              {summary.matched} / {summary.only_a} / {summary.only_b}
            </td>
          </tr>
        </tbody>
      </table>
      {divergence ? (
        <div className="divergence-note" data-testid="divergence">
          First divergence at step {divergence.row + 1}: {DIVERGENCE_TEXT[divergence.reason]}.{" "}
          <button type="button" onClick={goToDivergence} data-testid="go-divergence">
            Go to it
          </button>
        </div>
      ) : (
        <div className="muted" data-testid="divergence">
          Same steps in the same order, with the same outcomes.
        </div>
      )}
      {comparison.truncated ? <div className="note">A run has more steps than are compared; the rest are left out.</div> : null}
      <div className="cmphead">
        <div style={{ padding: "2px 6px" }}>Step (A above, B below)</div>
        <div className="axis">
          {ticks.map((t) => (
            <span key={t} className={axis > 0 && t / axis > 0.92 ? "end" : ""} style={{ left: `${axis > 0 ? (t / axis) * 100 : 0}%` }}>
              {formatDuration(t)}
            </span>
          ))}
        </div>
        <div style={{ padding: "2px 4px" }}>B against A</div>
      </div>
      <div className="cmpscroll" ref={scrollRef} data-testid="compare-rows">
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualizer.getVirtualItems().map((item) => (
            <AlignedRow
              key={item.index}
              row={rows[item.index]!}
              index={item.index}
              top={item.start}
              axis={axis}
              selected={item.index === selected}
              divergence={divergence?.row === item.index}
              onSelect={setSelected}
            />
          ))}
        </div>
      </div>
      {selectedRow ? <RowDetail row={selectedRow} index={selected} included={comparison.payload_diffs_included} /> : null}
    </div>
  );
}

type TotalKey = keyof RunTotals;
const TOTALS: [TotalKey, string, (value: number | string) => string][] = [
  ["duration_ms", "duration", (v) => formatDuration(Number(v))],
  ["steps", "steps", (v) => formatInt(Number(v))],
  ["llm_calls", "LLM calls", (v) => formatInt(Number(v))],
  ["tool_calls", "tool calls", (v) => formatInt(Number(v))],
  ["failed_steps", "failed steps", (v) => formatInt(Number(v))],
  ["retries", "retries", (v) => formatInt(Number(v))],
  ["timeouts", "timeouts", (v) => formatInt(Number(v))],
  ["total_tokens", "tokens", (v) => formatInt(Number(v))],
  ["cost_usd", "cost", (v) => formatCost(v)],
];

function signedText(value: number | string, format: (value: number | string) => string): string {
  const n = Number(value);
  if (n === 0) return "0";
  return n > 0 ? `+${format(n)}` : `−${format(-n)}`;
}

function RunCard({ label, trace }: { label: "A" | "B"; trace: TraceSummary }) {
  return (
    <div className={`compare-run run-${label.toLowerCase()}`} data-testid={`run-${label.toLowerCase()}`}>
      <h2>
        {label}: <Link href={`/trace/?id=${trace.trace_id}`}>{trace.root_span_name || "(no root span)"}</Link>{" "}
        <StatusBadge status={trace.status} />
      </h2>
      <Id value={trace.trace_id} short={16} /> · {trace.service} · <Time iso={trace.start_time} /> · {formatDuration(trace.duration_ms)}
    </div>
  );
}

interface AlignedRowProps {
  row: CompareRow;
  index: number;
  top: number;
  axis: number;
  selected: boolean;
  divergence: boolean;
  onSelect: (index: number) => void;
}

function AlignedRow({ row, index, top, axis, selected, divergence, onSelect }: AlignedRowProps) {
  const step = (row.a ?? row.b)!;
  const badges = deltaBadges(row);
  return (
    <div
      className={`cmprow ${row.kind}${selected ? " selected" : ""}${divergence ? " divergence" : ""}`}
      style={{ position: "absolute", top: 0, left: 0, right: 0, transform: `translateY(${top}px)` }}
      onClick={() => onSelect(index)}
      data-testid="compare-row"
      data-kind={row.kind}
      data-divergence={divergence ? "true" : undefined}
      aria-selected={selected}
    >
      <div className="stepname">
        <span className="muted mono">{index + 1}</span>
        <span className={`dot cat-${step.category}`} title={step.category} />
        <span className="name" title={step.name}>
          {step.name}
        </span>
      </div>
      <div className="cmptrack">
        <StepBar step={row.a} lane="a" axis={axis} />
        <StepBar step={row.b} lane="b" axis={axis} />
      </div>
      <div className="cmpbadges" data-testid="delta-badges">
        {row.kind === "only_a" ? <span className="delta changed">only in A</span> : null}
        {row.kind === "only_b" ? <span className="delta changed">only in B</span> : null}
        {badges.map((badge) => (
          <span key={badge.text} className={`delta ${badge.tone}`} title={badge.title}>
            {badge.text}
          </span>
        ))}
      </div>
    </div>
  );
}

function StepBar({ step, lane, axis }: { step: CompareStep | null; lane: "a" | "b"; axis: number }) {
  if (!step) return null;
  const { leftPct, widthPct } = barGeometry(step.offset_ms, step.duration_ms, axis);
  return (
    <span
      className={`bar run-${lane}-bar cat-${step.category} status-${step.status_code}`}
      style={{ left: `${leftPct}%`, width: `${widthPct}%` }}
      title={`${lane.toUpperCase()}: ${formatDuration(step.duration_ms)} at +${formatDuration(step.offset_ms)}`}
      data-lane={lane}
    />
  );
}

function RowDetail({ row, index, included }: { row: CompareRow; index: number; included: boolean }) {
  return (
    <section className="diffs" data-testid="row-detail">
      <strong>Step {index + 1}</strong>{" "}
      {(["a", "b"] as const).map((lane) => {
        const step = row[lane];
        return (
          <span key={lane} className="muted">
            {lane.toUpperCase()}:{" "}
            {step
              ? `${step.name} · ${formatDuration(step.duration_ms)} · ${formatInt(step.total_tokens)} tok · ${formatCost(step.cost_usd)} · ${step.status_code}${step.retry_count ? ` · ${step.retry_count} retries` : ""}${step.is_timeout ? " · timed out" : ""}`
              : "—"}{" "}
          </span>
        );
      })}
      {!included ? (
        <div className="muted" data-testid="no-payload-access">
          Your role sees the steps’ structure and numbers only, not their prompts, completions or tool I/O.
        </div>
      ) : row.kind !== "matched" ? (
        <div className="muted">This step is in one run only; open the trace to read its payloads.</div>
      ) : (row.payload_diffs ?? []).length === 0 ? (
        <div className="muted">No payloads recorded for this step.</div>
      ) : (
        (row.payload_diffs ?? []).map((diff) => <PayloadDiffView key={diff.role} diff={diff} />)
      )}
    </section>
  );
}

function PayloadDiffView({ diff }: { diff: PayloadDiff }) {
  return (
    <div className="payload" data-testid="payload-diff" data-role={diff.role}>
      <div className="head">
        <strong>{diff.role}</strong>
        <span className="muted">
          {diff.kind === "identical" ? "identical" : diff.kind === "unavailable" ? "content unavailable (expired, too large or missing)" : diff.changed ? "changed" : "same text"}
        </span>
      </div>
      {diff.kind === "messages"
        ? diff.messages.map((message) => (
            <div key={message.index} className="msg">
              <div className="role">
                #{message.index + 1} {message.role_a ?? "—"}
                {message.role_b !== message.role_a ? ` → ${message.role_b ?? "—"}` : ""} {message.changed ? "" : "· unchanged"}
              </div>
              <DiffLines lines={message.lines} />
            </div>
          ))
        : null}
      {diff.kind === "text" ? <DiffLines lines={diff.lines} /> : null}
    </div>
  );
}

function DiffLines({ lines }: { lines: string[] }) {
  if (lines.length === 0) return null;
  return (
    <div>
      {lines.map((line, i) => (
        <div key={i} className={`diffline${line.startsWith("+") ? " add" : line.startsWith("-") ? " del" : line.startsWith("@@") ? " hunk" : ""}`}>
          {line || " "}
        </div>
      ))}
    </div>
  );
}

"use client";

/** Everything about one span: overview, payloads, events (retries, timeouts, exceptions), attributes, links. */

import { useEffect, useState } from "react";

import { getJson } from "@/lib/api";
import type { Attributes, SpanDetail, SpanEvent, SpanItem } from "@/lib/api-types";
import { formatAbsolute, formatCost, formatDuration, formatInt } from "@/lib/format";
import { payloadRefsOf } from "@/lib/payload-refs";

import { CategoryBadge, ErrorState, Id, StatusBadge } from "./common";
import { PayloadRefs } from "./PayloadViewer";

const SPAN_KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"];

export function SpanInspector({ span }: { span: SpanItem | null }) {
  const [detail, setDetail] = useState<SpanDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const spanId = span?.span_id;
  const traceId = span?.trace_id;

  useEffect(() => {
    setDetail(null);
    setError(null);
    if (!spanId || !traceId) return;
    const controller = new AbortController();
    // A short delay so holding an arrow key does not fire one request per row passed.
    const timer = window.setTimeout(() => {
      getJson<SpanDetail>(`/api/spans/${spanId}?trace_id=${traceId}`, controller.signal)
        .then(setDetail)
        .catch((e: unknown) => {
          if (!controller.signal.aborted) setError(e);
        });
    }, 120);
    return () => {
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [spanId, traceId]);

  if (!span) return <div className="inspector muted">Select a span (click, or use the arrow keys).</div>;

  const llmish = span.model || span.total_tokens > 0;
  return (
    <div className="inspector" data-testid="inspector" data-span-id={span.span_id}>
      <h2>{span.name || "(unnamed)"}</h2>
      <div style={{ display: "flex", gap: 6, flexWrap: "wrap", marginBottom: 6 }}>
        <CategoryBadge category={span.category} />
        <StatusBadge status={span.status_code} />
        {span.retry_count > 0 ? <span className="badge warn">↻ {span.retry_count} retries</span> : null}
        {span.is_timeout ? <span className="badge warn">timed out</span> : null}
        {span.is_orphan ? <span className="badge">orphan: parent never received</span> : null}
      </div>
      {span.status_message ? <p className="state error" style={{ padding: 6, margin: "4px 0" }}>{span.status_message}</p> : null}
      <table className="kv">
        <tbody>
          <Row k="span id" v={<Id value={span.span_id} />} />
          <Row k="parent" v={<Id value={span.parent_span_id} />} />
          <Row k="trace id" v={<Id value={span.trace_id} />} />
          <Row k="start" v={<span className="mono">{formatAbsolute(span.start_time)}</span>} />
          <Row k="duration" v={`${formatDuration(span.duration_ms)} (at +${formatDuration(span.offset_ms)})`} />
          <Row k="kind" v={SPAN_KINDS[span.kind] ?? String(span.kind)} />
          <Row k="service" v={span.service} />
          {span.operation_name ? <Row k="operation" v={span.operation_name} /> : null}
          {span.tool_name ? <Row k="tool" v={span.tool_name} /> : null}
          {llmish ? <Row k="model" v={<span className="mono">{[span.provider, span.model].filter(Boolean).join(" / ")}</span>} /> : null}
          {llmish ? (
            <Row k="tokens" v={`${formatInt(span.input_tokens)} in · ${formatInt(span.output_tokens)} out · ${formatInt(span.total_tokens)} total`} />
          ) : null}
          {Number(span.cost_usd) > 0 ? <Row k="cost" v={formatCost(span.cost_usd)} /> : null}
        </tbody>
      </table>

      <h3>Payloads</h3>
      {detail || error || (span.payload_refs ?? []).length > 0 ? (
        <PayloadRefs refs={payloadRefsOf(span.payload_refs, detail?.payload_refs, detail?.attributes)} />
      ) : (
        <p className="muted">Loading payload refs…</p>
      )}

      {error ? <ErrorState error={error} what="the span's details" /> : null}
      {!detail && !error ? <p className="muted">Loading attributes and events…</p> : null}
      {detail ? (
        <>
          <h3>Events ({detail.events.length})</h3>
          {detail.events.length === 0 ? <p className="muted">No events.</p> : detail.events.map((e, i) => <EventView key={i} event={e} />)}
          <h3>Attributes</h3>
          <AttributeTable attributes={detail.attributes} />
          <h3>Resource</h3>
          <AttributeTable attributes={detail.resource_attributes} />
          <h3>Links ({detail.links.length})</h3>
          {detail.links.length === 0 ? (
            <p className="muted">No links.</p>
          ) : (
            detail.links.map((link, i) => (
              <div key={i} className="event">
                trace <Id value={link.trace_id} /> span <Id value={link.span_id} />
                <AttributeTable attributes={link.attributes} />
              </div>
            ))
          )}
          <h3>Scope</h3>
          <p className="mono">
            {detail.scope?.name || "—"} {detail.scope?.version}
          </p>
          {detail.trace_state ? <Row k="trace state" v={detail.trace_state} /> : null}
        </>
      ) : null}
    </div>
  );
}

function Row({ k, v }: { k: string; v: React.ReactNode }) {
  return (
    <tr>
      <td>{k}</td>
      <td>{v}</td>
    </tr>
  );
}

export function AttributeTable({ attributes }: { attributes: Attributes | null | undefined }) {
  const entries = Object.entries(attributes ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <p className="muted">None.</p>;
  return (
    <table className="kv">
      <tbody>
        {entries.map(([key, value]) => (
          <tr key={key}>
            <td>{key}</td>
            <td>{renderValue(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function renderValue(value: unknown): React.ReactNode {
  if (value === null || value === undefined) return <span className="muted">null</span>;
  if (typeof value === "string") return value.includes("\n") || value.length > 200 ? <pre>{value}</pre> : value;
  if (typeof value === "number" || typeof value === "boolean") return <span className="mono">{String(value)}</span>;
  return <pre>{JSON.stringify(value, null, 2)}</pre>;
}

function EventView({ event }: { event: SpanEvent }) {
  const name = event.name;
  const attrs = event.attributes ?? {};
  const kind =
    name === "exception" ? "exception" : /(^|\.)retry$/.test(name) ? "retry" : /(^|\.)timeout$/.test(name) ? "timeout" : "";
  const rest = { ...attrs };
  const stack = typeof attrs["exception.stacktrace"] === "string" ? (attrs["exception.stacktrace"] as string) : "";
  delete rest["exception.stacktrace"];
  if (kind === "exception") {
    delete rest["exception.type"];
    delete rest["exception.message"];
  }
  return (
    <div className={`event ${kind}`} data-testid="event">
      <div>
        <strong>{name}</strong> <span className="muted mono">{formatAbsolute(event.time)}</span>
      </div>
      {kind === "exception" ? (
        <div>
          <span className="mono" style={{ color: "var(--error)" }}>
            {String(attrs["exception.type"] ?? "")}
          </span>
          {attrs["exception.message"] ? `: ${String(attrs["exception.message"])}` : null}
        </div>
      ) : null}
      {stack ? <pre data-testid="stacktrace">{stack}</pre> : null}
      {Object.keys(rest).length > 0 ? <AttributeTable attributes={rest} /> : null}
    </div>
  );
}

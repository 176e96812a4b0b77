"use client";

/**
 * One session as a conversation, turn by turn (oldest first): each turn's status, duration, tokens and cost,
 * a link to its trace, and its input and output (the root span's payloads). Roles that may read payload
 * contents see the text; viewers see refs, hashes and sizes with a note, and no content is requested.
 */

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useEffect, useState } from "react";

import { getJson } from "@/lib/api";
import type { PayloadContent, PayloadRef, SessionDetail, SessionTurn } from "@/lib/api-types";
import { formatBytes, formatCost, formatDuration, formatInt, plural } from "@/lib/format";

import { ErrorState, Id, Loading, StatusBadge, Time } from "./common";
import { roleLabel, useMe, usePermissions } from "./me";
import { PayloadBody } from "./PayloadViewer";

const CONVERSATION_ROLES = /^(input|output)(_messages)?$/;

export function SessionView() {
  const id = useSearchParams().get("id") ?? "";
  const [detail, setDetail] = useState<SessionDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const permissions = usePermissions();
  const { me } = useMe();

  useEffect(() => {
    if (!id) return;
    const controller = new AbortController();
    setDetail(null);
    setError(null);
    getJson<SessionDetail>(`/api/sessions/${encodeURIComponent(id)}`, controller.signal)
      .then(setDetail)
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      });
    return () => controller.abort();
  }, [id]);

  if (!id) return <div className="state">No session id in the address. <Link href="/sessions/">All sessions</Link></div>;
  if (error) return <div className="page"><ErrorState error={error} what="the session" /></div>;
  if (!detail) return <Loading what="the session" />;
  const session = detail.session;
  return (
    <div className="page session" data-testid="session-view">
      <p className="muted">
        <Link href="/sessions/">← Sessions</Link>
      </p>
      <h1 className="pagetitle">
        Session <Id value={session.session_id} />
      </h1>
      <dl className="summary">
        <div><dt>turns</dt><dd data-testid="turn-count">{formatInt(session.turns)}</dd></div>
        <div><dt>started</dt><dd><Time iso={session.start_time} /></dd></div>
        <div><dt>duration</dt><dd>{formatDuration(session.duration_ms)}</dd></div>
        <div><dt>tokens</dt><dd>{formatInt(session.input_tokens)} in / {formatInt(session.output_tokens)} out</dd></div>
        <div><dt>cost</dt><dd>{formatCost(session.cost_usd)}</dd></div>
        <div>
          <dt>problems</dt>
          <dd>
            {plural(session.error_turns, "failed turn")} · {plural(session.retry_count, "retry", "retries")} ·{" "}
            {plural(session.timeout_count, "timeout")}
          </dd>
        </div>
      </dl>
      <p className="muted">
        <Link href={`/?session_id=${encodeURIComponent(session.session_id)}&sort=oldest`}>These turns in the trace list</Link>
      </p>
      {!permissions.read_payload_content ? (
        <p className="note" data-testid="payload-no-access">
          Your role ({roleLabel(me)}) cannot read payload contents: each turn shows its payload refs, hashes and sizes.
        </p>
      ) : null}
      <ol className="turns">
        {detail.turns.map((turn, index) => (
          <TurnCard key={turn.trace_id} turn={turn} number={index + 1} canRead={permissions.read_payload_content} />
        ))}
      </ol>
      {detail.truncated ? <p className="muted">Only the first {formatInt(detail.turns.length)} turns are shown.</p> : null}
    </div>
  );
}

function TurnCard({ turn, number, canRead }: { turn: SessionTurn; number: number; canRead: boolean }) {
  const refs = turn.root_payload_refs.filter((ref) => CONVERSATION_ROLES.test(ref.role));
  return (
    <li className="turn" data-testid="turn" data-trace-id={turn.trace_id}>
      <div className="turnhead">
        <strong>Turn {number}</strong>
        <Time iso={turn.start_time} />
        <StatusBadge status={turn.status} />
        {turn.retry_count ? <span className="badge warn">↻{turn.retry_count}</span> : null}
        <span className="muted">
          {formatDuration(turn.duration_ms)} · {plural(turn.llm_call_count, "LLM call")} · {plural(turn.tool_call_count, "tool call")} ·{" "}
          {formatInt(turn.total_tokens)} tokens · {formatCost(turn.cost_usd)}
        </span>
        <span style={{ flex: 1 }} />
        <Link href={`/trace/?id=${turn.trace_id}`} data-testid="turn-trace-link">
          {turn.root_span_name || "trace"} →
        </Link>
      </div>
      {refs.length === 0 ? <p className="muted">No input or output recorded on this turn&apos;s root span.</p> : null}
      {refs.map((ref) => (
        <TurnPayload key={`${ref.role}:${ref.ref}`} payloadRef={ref} canRead={canRead} />
      ))}
    </li>
  );
}

function TurnPayload({ payloadRef, canRead }: { payloadRef: PayloadRef; canRead: boolean }) {
  const [content, setContent] = useState<PayloadContent | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!canRead) return;
    const controller = new AbortController();
    getJson<PayloadContent>(`/api/payloads/${payloadRef.ref}`, controller.signal)
      .then(setContent)
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      });
    return () => controller.abort();
  }, [payloadRef.ref, canRead]);
  const side = payloadRef.role.startsWith("input") ? "input" : "output";
  return (
    <div className={`turnpayload ${side}`} data-testid="turn-payload" data-role={payloadRef.role}>
      <div className="muted">
        {side} · {formatBytes(payloadRef.size_bytes)}
        {!canRead ? <span className="mono"> · {payloadRef.ref}</span> : null}
      </div>
      {!canRead ? null : error ? (
        <ErrorState error={error} what="this payload" />
      ) : content ? (
        <PayloadBody content={content} />
      ) : (
        <div className="muted">Loading…</div>
      )}
    </div>
  );
}

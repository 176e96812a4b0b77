"use client";

/**
 * Payload refs of a span, and (for roles allowed to read contents) the redacted content fetched from
 * `/api/payloads/{ref}`, shown as a conversation when it is a list of chat messages, else pretty JSON or text.
 * Viewers see refs, hashes and sizes only; the content is never requested for them. Refs whose content expired
 * or never arrived are labelled so, and their content is not requested either.
 */

import { useState } from "react";

import { ApiError, getJson } from "@/lib/api";
import type { PayloadContent, PayloadRef } from "@/lib/api-types";
import { formatBytes } from "@/lib/format";
import { payloadAvailability } from "@/lib/payload-status";

import { CopyButton, ErrorState } from "./common";
import { roleLabel, useMe, usePermissions } from "./me";

export function PayloadRefs({ refs }: { refs: PayloadRef[] }) {
  const permissions = usePermissions();
  const { me } = useMe();
  if (refs.length === 0) return <p className="muted">No payloads recorded for this span.</p>;
  return (
    <div data-testid="payload-refs">
      {!permissions.read_payload_content ? (
        <p className="note" data-testid="payload-no-access">
          You do not have access to payload contents (your role: {roleLabel(me)}). Engineers and admins can read them;
          refs, hashes and sizes are shown.
        </p>
      ) : null}
      {refs.map((ref) => (
        <PayloadItem key={`${ref.role}:${ref.ref}`} payloadRef={ref} canRead={permissions.read_payload_content} />
      ))}
    </div>
  );
}

function PayloadItem({ payloadRef, canRead }: { payloadRef: PayloadRef; canRead: boolean }) {
  const availability = payloadAvailability(payloadRef.status);
  const [content, setContent] = useState<PayloadContent | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [open, setOpen] = useState(false);

  const toggle = async () => {
    if (open) {
      setOpen(false);
      return;
    }
    setOpen(true);
    if (content || loading) return;
    setLoading(true);
    setError(null);
    try {
      setContent(await getJson<PayloadContent>(`/api/payloads/${payloadRef.ref}`));
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };

  return (
    <div className="payload" data-testid="payload" data-role={payloadRef.role} data-status={payloadRef.status}>
      <div className="head">
        <strong>{payloadRef.role}</strong>
        {!availability.loadable ? (
          <span className="badge warn" data-testid="payload-status">
            {availability.label}
          </span>
        ) : null}
        {payloadRef.content_type || availability.loadable ? (
          <span className="muted">{payloadRef.content_type || "unknown type"}</span>
        ) : null}
        <span className="muted">{formatBytes(payloadRef.size_bytes)}</span>
        <span className="spacer" style={{ flex: 1 }} />
        {canRead && availability.loadable ? (
          <button type="button" onClick={toggle} data-testid="payload-open">
            {open ? "Hide content" : "Show content"}
          </button>
        ) : null}
      </div>
      <div className="mono muted" style={{ wordBreak: "break-all" }}>
        {payloadRef.ref}
        <CopyButton value={payloadRef.ref} label="Copy ref" />
      </div>
      {!availability.loadable ? (
        <p className="note" data-testid="payload-unavailable">
          {availability.explanation}
        </p>
      ) : null}
      {payloadRef.attribute ? <div className="muted">from attribute <span className="mono">{payloadRef.attribute}</span></div> : null}
      {open ? (
        loading ? (
          <div className="muted">Loading content…</div>
        ) : error ? (
          error instanceof ApiError && error.kind === "forbidden" ? (
            <p className="note" data-testid="payload-refused">
              The server refused to show this content: {error.message}
            </p>
          ) : (
            <ErrorState error={error} what="the payload" />
          )
        ) : content ? (
          <PayloadBody content={content} />
        ) : null
      ) : null}
    </div>
  );
}

type View = "chat" | "json" | "raw";

export function PayloadBody({ content }: { content: PayloadContent }) {
  const parsed = parseJson(content.content);
  const messages = parsed.ok ? chatMessages(parsed.value) : null;
  const [view, setView] = useState<View>(messages ? "chat" : parsed.ok ? "json" : "raw");
  const views: View[] = [...(messages ? (["chat"] as View[]) : []), ...(parsed.ok ? (["json"] as View[]) : []), "raw"];
  return (
    <div data-testid="payload-content">
      <div className="tabs">
        {views.map((v) => (
          <button key={v} type="button" className={v === view ? "active" : ""} onClick={() => setView(v)}>
            {v === "chat" ? "Messages" : v === "json" ? "JSON" : "Raw"}
          </button>
        ))}
        <span className="muted" style={{ alignSelf: "center" }}>
          redaction: {content.redaction_mode || "unknown"} · {formatBytes(content.size_bytes)}
        </span>
      </div>
      {view === "chat" && messages ? (
        <ChatView messages={messages} />
      ) : view === "json" && parsed.ok ? (
        <pre>{JSON.stringify(parsed.value, null, 2)}</pre>
      ) : (
        <pre>{content.content}</pre>
      )}
    </div>
  );
}

interface ChatMessage {
  role: string;
  parts: unknown[];
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** Chat messages in the shapes agents send: OpenAI-style `{role, content}` or GenAI `{role, parts}`. */
export function chatMessages(value: unknown): ChatMessage[] | null {
  const list = Array.isArray(value)
    ? value
    : value && typeof value === "object" && Array.isArray((value as { messages?: unknown }).messages)
      ? (value as { messages: unknown[] }).messages
      : null;
  if (!list || list.length === 0) return null;
  const messages: ChatMessage[] = [];
  for (const item of list) {
    if (!item || typeof item !== "object" || typeof (item as { role?: unknown }).role !== "string") return null;
    const message = item as { role: string; content?: unknown; parts?: unknown; tool_calls?: unknown };
    const parts: unknown[] = [];
    if (Array.isArray(message.parts)) parts.push(...message.parts);
    if (Array.isArray(message.content)) parts.push(...message.content);
    else if (message.content !== undefined && message.content !== null) parts.push(message.content);
    if (Array.isArray(message.tool_calls)) parts.push(...message.tool_calls.map((call) => ({ type: "tool_call", ...call })));
    messages.push({ role: message.role, parts });
  }
  return messages;
}

function ChatView({ messages }: { messages: ChatMessage[] }) {
  return (
    <div className="chat" data-testid="chat-view">
      {messages.map((message, i) => (
        <div key={i} className={`msg ${message.role}`}>
          <div className="role">{message.role}</div>
          {message.parts.map((part, j) => (
            <MessagePart key={j} part={part} />
          ))}
        </div>
      ))}
    </div>
  );
}

function MessagePart({ part }: { part: unknown }) {
  if (typeof part === "string") return <div className="text">{part}</div>;
  if (part && typeof part === "object") {
    const p = part as { type?: unknown; content?: unknown; text?: unknown; name?: unknown; arguments?: unknown; function?: unknown };
    if ((p.type === "text" || p.type === undefined) && typeof (p.content ?? p.text) === "string") {
      return <div className="text">{String(p.content ?? p.text)}</div>;
    }
    if (p.type === "tool_call" || p.type === "function") {
      const fn = (p.function ?? p) as { name?: unknown; arguments?: unknown };
      return (
        <div>
          <span className="badge cat cat-tool">tool call</span> <span className="mono">{String(fn.name ?? "")}</span>
          <pre>{typeof fn.arguments === "string" ? fn.arguments : JSON.stringify(fn.arguments ?? {}, null, 2)}</pre>
        </div>
      );
    }
  }
  return <pre>{JSON.stringify(part, null, 2)}</pre>;
}

"use client";

/** Small pieces used on every page: copy buttons, ids, times, badges, loading and error states. */

import { useState } from "react";

import { ApiError, loginUrl } from "@/lib/api";
import { formatAbsolute, formatRelative } from "@/lib/format";

export function CopyButton({ value, label = "copy" }: { value: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async (event: React.MouseEvent) => {
    event.stopPropagation();
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      // Clipboard API needs a secure context; fall back to a selection copy on plain http.
      const area = document.createElement("textarea");
      area.value = value;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    setCopied(true);
    window.setTimeout(() => setCopied(false), 1200);
  };
  return (
    <button type="button" className="copy" onClick={copy} title={`Copy ${value}`} aria-label={`${label} ${value}`}>
      {copied ? (
        "copied"
      ) : (
        <svg width="11" height="11" viewBox="0 0 16 16" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.5">
          <rect x="5" y="5" width="9" height="9" rx="1.5" />
          <path d="M11 5V3.5A1.5 1.5 0 0 0 9.5 2h-6A1.5 1.5 0 0 0 2 3.5v6A1.5 1.5 0 0 0 3.5 11H5" />
        </svg>
      )}
    </button>
  );
}

export function Id({ value, short = 0 }: { value: string; short?: number }) {
  if (!value) return <span className="muted">—</span>;
  return (
    <span className="idcell">
      <span className="mono" title={value}>
        {short ? value.slice(0, short) : value}
      </span>
      <CopyButton value={value} label="Copy id" />
    </span>
  );
}

export function Time({ iso }: { iso: string | null | undefined }) {
  return (
    <span className="nowrap" title={iso ?? ""}>
      {formatRelative(iso)} <span className="muted mono">{formatAbsolute(iso)}</span>
    </span>
  );
}

export function StatusBadge({ status }: { status: string }) {
  const cls = status === "error" ? "error" : status === "ok" ? "ok" : "";
  return <span className={`badge ${cls}`}>{status}</span>;
}

export function CategoryBadge({ category }: { category: string }) {
  return <span className={`badge cat cat-${category}`}>{category}</span>;
}

export function Loading({ what }: { what: string }) {
  return (
    <div className="state" role="status">
      Loading {what}…
    </div>
  );
}

export function ErrorState({ error, what }: { error: unknown; what: string }) {
  const here = typeof window === "undefined" ? "/" : window.location.pathname + window.location.search;
  if (!(error instanceof ApiError)) {
    return (
      <div className="state error" role="alert">
        Could not load {what}: {String(error)}
      </div>
    );
  }
  let message: React.ReactNode;
  switch (error.kind) {
    case "unreachable":
      message = <>The TraceFoundry server cannot be reached. Check that it is running, then reload the page.</>;
      break;
    case "unauthenticated":
      message = (
        <>
          Your session has expired. <a href={loginUrl(here)}>Log in again</a>.
        </>
      );
      break;
    case "forbidden":
      message = (
        <>
          You are not allowed to see {what} ({error.message}). <a href={loginUrl(here)}>Log in as someone else</a>.
        </>
      );
      break;
    case "not_found":
      message = (
        <>
          {capitalized(what.replace(/^(the|this) /, ""))} not found (HTTP 404): {error.message}
        </>
      );
      break;
    case "bad_request":
      message = (
        <>
          The server refused the request{error.parameter ? <> (parameter <code>{error.parameter}</code>)</> : null}:{" "}
          {error.message}
        </>
      );
      break;
    default:
      message = (
        <>
          The server failed to answer for {what} (HTTP {error.status}): {error.message}
        </>
      );
  }
  return (
    <div className="state error" role="alert" data-error-kind={error.kind}>
      {message}
    </div>
  );
}

function capitalized(text: string): string {
  return (text[0]?.toUpperCase() ?? "") + text.slice(1);
}

/** True when a key press came from a text field, where arrow keys and `/` belong to the field. */
export function isTyping(event: KeyboardEvent): boolean {
  const target = event.target as HTMLElement | null;
  if (!target) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}

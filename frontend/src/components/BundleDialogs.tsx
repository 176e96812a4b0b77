"use client";

/** Export a trace as a bundle (download), and show a dry-replay report: the Bundles endpoints' UI. */

import { useEffect, useState } from "react";

import { postJson, request } from "@/lib/api";
import type { DryReplayReport, ExportRequest, RedactionMode } from "@/lib/api-types";
import { exportOptions } from "@/lib/export-options";
import { formatBytes } from "@/lib/format";

import { ErrorState } from "./common";
import { roleLabel, useMe, usePermissions } from "./me";

function Dialog({ title, onClose, children, testId }: { title: string; onClose: () => void; children: React.ReactNode; testId: string }) {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div className="overlay" onClick={onClose}>
      <div className="dialog" role="dialog" aria-modal="true" aria-label={title} data-testid={testId} onClick={(e) => e.stopPropagation()}>
        <h2>{title}</h2>
        {children}
      </div>
    </div>
  );
}

function filenameOf(disposition: string | null, fallback: string): string {
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition ?? "");
  return match?.[1] ? decodeURIComponent(match[1]) : fallback;
}

export function ExportDialog({ traceId, onClose }: { traceId: string; onClose: () => void }) {
  const permissions = usePermissions();
  const { me } = useMe();
  const role = roleLabel(me);
  const [includePayloads, setIncludePayloads] = useState(false);
  const [redaction, setRedaction] = useState<RedactionMode>("strict");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);

  const options = exportOptions(permissions, role, { includePayloads, redaction });
  const modes: { value: RedactionMode; label: string }[] = [
    { value: "strict", label: "Strict: credentials and personal data masked, attributes outside the allowlist dropped" },
    { value: "standard", label: "Standard: credentials masked" },
    { value: "off", label: "Off: nothing masked" },
  ];

  const exportBundle = async () => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const response = await request(`/api/traces/${traceId}/export`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/zip, application/json" },
        body: JSON.stringify({ include_payloads: includePayloads, redaction } satisfies ExportRequest),
      });
      const blob = await response.blob();
      const name = filenameOf(response.headers.get("content-disposition"), `tracefoundry-${traceId}.zip`);
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = name;
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setDone(`Downloaded ${name} (${formatBytes(blob.size)}).`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="Export trace bundle" onClose={onClose} testId="export-dialog">
      <p className="muted">
        A zip with the spans (OTLP/JSON), a manifest with the hash of every file, and optionally the payloads, for
        importing into another TraceFoundry or reading with other OpenTelemetry tools.
      </p>
      <fieldset>
        <legend>Contents</legend>
        <label>
          <input
            type="checkbox"
            name="include_payloads"
            checked={includePayloads}
            disabled={!options.includePayloads.allowed}
            onChange={(e) => setIncludePayloads(e.target.checked)}
          />{" "}
          Include payloads (prompts, completions, tool I/O)
          {!options.includePayloads.allowed ? (
            <span className="reason" data-testid="reason-include_payloads">
              {options.includePayloads.reasons.join(" ")}
            </span>
          ) : null}
        </label>
      </fieldset>
      <fieldset>
        <legend>Redaction</legend>
        {modes.map((mode) => (
          <label key={mode.value}>
            <input
              type="radio"
              name="redaction"
              value={mode.value}
              checked={redaction === mode.value}
              disabled={!options.redaction[mode.value].allowed}
              onChange={() => setRedaction(mode.value)}
            />{" "}
            {mode.label}
            {!options.redaction[mode.value].allowed ? (
              <span className="reason" data-testid={`reason-${mode.value}`}>
                {options.redaction[mode.value].reasons.join(" ")}
              </span>
            ) : null}
          </label>
        ))}
      </fieldset>
      {error ? <ErrorState error={error} what="the export" /> : null}
      {done ? (
        <p className="badge ok" role="status" data-testid="export-done">
          {done}
        </p>
      ) : null}
      <div className="buttons">
        <button type="button" onClick={onClose}>
          Close
        </button>
        <button type="button" className="primary" onClick={exportBundle} disabled={busy} data-testid="export-submit">
          {busy ? "Exporting…" : "Download bundle"}
        </button>
      </div>
    </Dialog>
  );
}

export function DryReplayDialog({ traceId, onClose }: { traceId: string; onClose: () => void }) {
  const [report, setReport] = useState<DryReplayReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    postJson<DryReplayReport>(`/api/traces/${traceId}/dry-replay`, {})
      .then(setReport)
      .catch(setError);
  }, [traceId]);
  const extra = report ? Object.fromEntries(Object.entries(report).filter(([k]) => k !== "ok" && k !== "checks")) : {};
  return (
    <Dialog title="Dry replay" onClose={onClose} testId="dry-replay-dialog">
      {error ? <ErrorState error={error} what="the dry replay" /> : null}
      {!report && !error ? <p className="muted">Rebuilding the span tree and checking every payload ref and hash…</p> : null}
      {report ? (
        <>
          <p>
            <span className={`badge ${report.ok ? "ok" : "error"}`} data-testid="dry-replay-result">
              {report.ok ? "all checks passed" : "some checks failed"}
            </span>
          </p>
          <ul className="checks">
            {report.checks.map((check, i) => (
              <li key={i} data-testid="dry-replay-check" data-check={check.name} data-ok={String(check.ok)} data-skipped={String(check.skipped)}>
                <span className={check.skipped ? "muted" : check.ok ? "ok" : "fail"}>{check.skipped ? "–" : check.ok ? "✓" : "✗"}</span>{" "}
                <strong>{check.name}</strong> {check.skipped ? <span className="badge">skipped</span> : null}{" "}
                <span className="muted">{check.detail}</span>
                {check.findings.length > 0 ? (
                  <ul data-testid="dry-replay-findings">
                    {check.findings.map((finding, j) => (
                      <li key={j} className="mono">
                        {finding}
                      </li>
                    ))}
                  </ul>
                ) : null}
              </li>
            ))}
          </ul>
          {Object.keys(extra).length > 0 ? <pre>{JSON.stringify(extra, null, 2)}</pre> : null}
        </>
      ) : null}
      <div className="buttons">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}

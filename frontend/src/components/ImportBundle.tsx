"use client";

/** Upload a bundle to `/api/bundles/import` and show what the server verified and stored. */

import Link from "next/link";
import { useState } from "react";

import { ApiError, request } from "@/lib/api";
import type { ImportConflict, ImportResult } from "@/lib/api-types";
import { formatBytes } from "@/lib/format";

import { ErrorState, Id } from "./common";
import { roleLabel, useMe, usePermissions } from "./me";

export function ImportBundle() {
  const permissions = usePermissions();
  const { me, loading } = useMe();
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [error, setError] = useState<unknown>(null);

  const send = async (asNewTrace: boolean) => {
    if (!file) return;
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const form = new FormData();
      form.append("bundle", file);
      if (asNewTrace) form.append("as_new_trace", "true");
      const response = await request("/api/bundles/import", { method: "POST", body: form });
      setResult((await response.json()) as ImportResult);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const upload = (event: React.FormEvent) => {
    event.preventDefault();
    void send(false);
  };
  const conflict = error instanceof ApiError && error.status === 409 ? (error.body as ImportConflict) : null;

  const extra = result
    ? Object.entries(result).filter(([k]) => !["trace_id", "span_count", "payload_count", "created"].includes(k))
    : [];
  return (
    <div className="page" style={{ maxWidth: 760 }}>
      <h1 style={{ fontSize: 16 }}>Import a trace bundle</h1>
      <p className="muted">
        Every file&apos;s hash is checked against the bundle&apos;s manifest before anything is written. The trace is stored
        with source <code>bundle_import</code> and environment <code>offline</code>.
      </p>
      {!loading && !permissions.import_bundles ? (
        <p className="note" data-testid="import-no-access">
          Importing bundles needs the engineer or admin role (you are {roleLabel(me)}).
        </p>
      ) : null}
      <form onSubmit={upload} style={{ display: "flex", gap: 8, alignItems: "center", margin: "12px 0" }}>
        <input
          type="file"
          name="bundle"
          accept=".zip,application/zip"
          data-testid="import-file"
          disabled={!permissions.import_bundles}
          onChange={(e) => setFile(e.target.files?.[0] ?? null)}
        />
        {file ? <span className="muted">{formatBytes(file.size)}</span> : null}
        <button type="submit" className="primary" disabled={!file || busy || !permissions.import_bundles} data-testid="import-submit">
          {busy ? "Verifying…" : "Import"}
        </button>
      </form>
      {conflict ? (
        <div className="state error" role="alert" style={{ textAlign: "left" }} data-testid="import-conflict">
          <p>
            Trace <Id value={conflict.trace_id} /> is already stored with different content, so nothing was imported
            (a merge would change the stored trace silently). What differs:
          </p>
          <ul data-testid="import-differences">
            {conflict.differences.map((difference) => (
              <li key={difference}>{difference}</li>
            ))}
          </ul>
          <p>
            <Link href={`/trace/?id=${conflict.trace_id}`}>Open the stored trace</Link>, or keep both:{" "}
            <button type="button" className="primary" disabled={busy} onClick={() => void send(true)} data-testid="import-as-new">
              Import as a new trace
            </button>
          </p>
        </div>
      ) : error ? (
        <ErrorState error={error} what="the import" />
      ) : null}
      {result ? (
        <div className="state" style={{ textAlign: "left" }} data-testid="import-result" role="status">
          <p>
            <span className="badge ok">verified</span>{" "}
            {result.created ? "Imported a new trace." : "This trace was already here; nothing was changed."}
            {result.original_trace_id !== result.trace_id ? (
              <> The bundle&apos;s trace <Id value={result.original_trace_id} /> was stored under a new id.</>
            ) : null}
          </p>
          <table className="kv">
            <tbody>
              <tr>
                <td>trace</td>
                <td>
                  <Id value={result.trace_id} /> <Link href={`/trace/?id=${result.trace_id}`}>Open trace</Link>
                </td>
              </tr>
              <tr>
                <td>spans</td>
                <td>{result.span_count}</td>
              </tr>
              <tr>
                <td>payloads</td>
                <td>{result.payload_count}</td>
              </tr>
              {extra.map(([key, value]) => (
                <tr key={key}>
                  <td>{key}</td>
                  <td>{typeof value === "object" ? <pre>{JSON.stringify(value, null, 2)}</pre> : String(value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}

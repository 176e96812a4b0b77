"use client";

/** Upload a bundle to `/api/bundles/import` and show what the server verified and stored. */

import Link from "next/link";
import { useState } from "react";

import { request } from "@/lib/api";
import type { ImportResult } from "@/lib/api-types";
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

  const upload = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const form = new FormData();
      form.append("bundle", file);
      const response = await request("/api/bundles/import", { method: "POST", body: form });
      setResult((await response.json()) as ImportResult);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

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
      {error ? <ErrorState error={error} what="the import" /> : null}
      {result ? (
        <div className="state" style={{ textAlign: "left" }} data-testid="import-result" role="status">
          <p>
            <span className="badge ok">verified</span>{" "}
            {result.created ? "Imported a new trace." : "This trace was already here; nothing was changed."}
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

"use client";

/**
 * "Why was this slow": the critical path's time split into LLM, tool and own work, the time lost to retries
 * and backoff, and the spans that contributed most to the path, each a link to the span in the waterfall.
 */

import type { CriticalPath } from "@/lib/api-types";
import { formatDuration } from "@/lib/format";

interface Props {
  path: CriticalPath;
  highlight: boolean;
  onHighlight: (on: boolean) => void;
  onJump: (spanId: string) => void;
  onStep: (direction: 1 | -1) => void;
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 100)}%` : "0%";
}

export function SlownessSummary({ path, highlight, onHighlight, onJump, onStep }: Props) {
  const whole = path.path_ms;
  const parts = [
    { key: "llm", label: "LLM", ms: path.llm_ms },
    { key: "tool", label: "tools", ms: path.tool_ms },
    { key: "own", label: "own", ms: path.own_ms },
    { key: "untracked", label: "in no span", ms: path.untracked_ms },
  ].filter((p) => p.ms > 0);
  return (
    <details className="slowness" open data-testid="slowness">
      <summary>
        <strong>Why was this slow</strong>{" "}
        <span className="muted">
          critical path {formatDuration(whole)} · {parts.map((p) => `${p.label} ${pct(p.ms, whole)}`).join(" · ")}
          {path.retry_ms > 0 ? ` · retries ${formatDuration(path.retry_ms)} (backoff ${formatDuration(path.backoff_ms)})` : ""}
        </span>
      </summary>
      <div className="slowness-body">
        <div className="split" title="Where the critical path's time went" data-testid="time-split">
          {parts.map((p) => (
            <span key={p.key} className={`split-${p.key}`} style={{ width: pct(p.ms, whole) }} title={`${p.label}: ${formatDuration(p.ms)}`} />
          ))}
        </div>
        <ol className="contributors" data-testid="top-contributors">
          {path.top_contributors.map((c) => (
            <li key={c.span_id}>
              <button type="button" className="linkish" onClick={() => onJump(c.span_id)} data-testid="contributor" data-contributor-id={c.span_id}>
                <span className={`dot cat-${c.category}`} /> {c.name || "(unnamed)"}
              </button>{" "}
              <span className="num">{formatDuration(c.critical_ms)}</span>{" "}
              <span className="muted">
                ({Math.round(c.share * 100)}% of the trace{c.self_time_ms > c.critical_ms ? `, self ${formatDuration(c.self_time_ms)}` : ""})
              </span>
            </li>
          ))}
        </ol>
        <div className="slowness-tools">
          <label>
            <input type="checkbox" checked={highlight} onChange={(e) => onHighlight(e.target.checked)} data-testid="highlight-critical" /> highlight the
            critical path ({path.span_ids.length} spans)
          </label>
          <button type="button" onClick={() => onStep(-1)} disabled={path.span_ids.length === 0} data-testid="path-previous">
            ◀ previous on path
          </button>
          <button type="button" onClick={() => onStep(1)} disabled={path.span_ids.length === 0} data-testid="path-next">
            next on path ▶
          </button>
        </div>
      </div>
    </details>
  );
}

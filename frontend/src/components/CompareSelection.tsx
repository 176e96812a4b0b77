"use client";

/** Picking two traces in the list to compare: a checkbox per row and a bar that opens the compare page. */

import Link from "next/link";

import { compareHref } from "@/lib/compare";

export function PickCell({ traceId, picked, onToggle }: { traceId: string; picked: readonly string[]; onToggle: (traceId: string) => void }) {
  const position = picked.indexOf(traceId);
  return (
    <td className="pick" onClick={(e) => e.stopPropagation()}>
      <input
        type="checkbox"
        checked={position >= 0}
        onChange={() => onToggle(traceId)}
        aria-label={position >= 0 ? `Run ${position === 0 ? "A" : "B"} of the comparison` : "Pick to compare"}
        title={position >= 0 ? `Run ${position === 0 ? "A" : "B"}` : "Pick two traces to compare"}
        data-testid="pick-trace"
      />
    </td>
  );
}

export function CompareBar({ picked, onClear }: { picked: readonly string[]; onClear: () => void }) {
  if (picked.length === 0) return null;
  return (
    <div className="comparebar" data-testid="compare-bar">
      {picked.length === 2 ? (
        <Link className="button" href={compareHref(picked[0]!, picked[1]!)} data-testid="compare-picked">
          Compare the two picked traces
        </Link>
      ) : (
        <span className="muted">Pick one more trace to compare with.</span>
      )}
      <button type="button" onClick={onClear}>
        Clear
      </button>
    </div>
  );
}

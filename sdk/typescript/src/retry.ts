/**
 * HTTP calls with retries and per-attempt timeouts, recorded on the calling span as `tracefoundry.retry`
 * and `tracefoundry.timeout` events (the same names and attributes as the Python SDK).
 *
 * Retried: network errors, attempts that time out, and the statuses in `retryStatuses` (throttling,
 * overload and gateway errors); a `Retry-After` header in seconds is honoured up to `maxDelayMs`.
 * Every attempt carries the active trace context in `traceparent`. Known limit: a request body must be
 * re-sendable (a string, bytes or `URLSearchParams`, not a one-shot stream).
 */

import type { SpanScope } from "./spans.js";
import { injectTraceHeaders } from "./propagation.js";

export interface RetryPolicy {
  /** Attempts in all, the first included (default 3). */
  maxAttempts?: number;
  /** Delay before the first retry, doubled for each further one (default 500 ms). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Time allowed for one attempt, response body included (default 60 s; 0 = no limit). */
  timeoutMs?: number;
  retryStatuses?: readonly number[];
}

export const DEFAULT_RETRY_STATUSES: readonly number[] = [408, 409, 425, 429, 500, 502, 503, 504, 529];

/** A response with a status the caller does not accept (after retries, if it was retryable). */
export class HttpStatusError extends Error {
  override name = "HttpStatusError";

  constructor(
    readonly status: number,
    readonly body: string,
    detail: string,
  ) {
    super(`HTTP ${status}${detail ? `: ${detail}` : ""}`);
  }
}

/** `fetch` on behalf of `scope`'s span, retrying as `policy` says; returns the last response. */
export async function fetchWithRetry(
  scope: SpanScope,
  input: string | URL,
  init: RequestInit,
  policy: RetryPolicy = {},
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<Response> {
  const maxAttempts = Math.max(1, policy.maxAttempts ?? 3);
  const maxDelayMs = policy.maxDelayMs ?? 8_000;
  const timeoutMs = policy.timeoutMs ?? 60_000;
  const retryStatuses = new Set(policy.retryStatuses ?? DEFAULT_RETRY_STATUSES);
  let delayMs = policy.initialDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    const signals = [init.signal, timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined].filter(
      (signal): signal is AbortSignal => signal instanceof AbortSignal,
    );
    let reason: string;
    let wait = Math.min(delayMs, maxDelayMs);
    try {
      const response = await fetchImpl(input, {
        ...init,
        headers: injectTraceHeaders(init.headers),
        ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
      });
      if (!retryStatuses.has(response.status) || attempt >= maxAttempts) {
        // Read the body within this attempt's deadline, so a stalled body also counts as a timeout.
        const body = await response.arrayBuffer();
        return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
      }
      await response.arrayBuffer();
      reason = `HTTP ${response.status}`;
      wait = retryAfterMs(response.headers.get("retry-after"), maxDelayMs) ?? wait;
    } catch (error) {
      if (init.signal?.aborted) throw error; // the caller gave up: no retry
      const name = error instanceof Error ? error.name : "Error";
      if (name === "TimeoutError") {
        scope.recordTimeout(timeoutMs / 1000, `no response within ${timeoutMs} ms`, attempt);
        reason = "timeout";
      } else {
        reason = `${name}: ${error instanceof Error ? causeMessage(error) : String(error)}`;
      }
      if (attempt >= maxAttempts) throw error;
    }
    scope.recordRetry(attempt + 1, wait / 1000, reason);
    await new Promise((resolve) => setTimeout(resolve, wait));
    delayMs *= 2;
  }
}

function retryAfterMs(header: string | null, maxDelayMs: number): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, maxDelayMs);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(date - Date.now(), 0), maxDelayMs);
}

function causeMessage(error: Error): string {
  // undici reports "fetch failed" and puts the reason (ECONNREFUSED…) in `cause`.
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}

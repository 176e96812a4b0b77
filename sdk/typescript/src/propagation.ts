/**
 * W3C Trace Context (`traceparent`, `tracestate`) and Baggage across HTTP: injected into outgoing fetch
 * calls, extracted from incoming Node and Fetch-API (Next.js) requests.
 *
 * Uses its own W3C propagator rather than the global one, so propagation works whether or not the
 * application registered an OpenTelemetry SDK of its own.
 */

import type { IncomingHttpHeaders } from "node:http";

import { context, type Context, type TextMapGetter, type TextMapSetter } from "@opentelemetry/api";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";

/** Anything `new Headers(...)` accepts (fetch's `HeadersInit`). */
export type HeadersLike = ConstructorParameters<typeof Headers>[0];

export const propagator = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
});

const headersSetter: TextMapSetter<Headers> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

const headersGetter: TextMapGetter<Headers> = {
  get: (carrier, key) => carrier.get(key) ?? undefined,
  keys: (carrier) => [...carrier.keys()],
};

const nodeHeadersGetter: TextMapGetter<IncomingHttpHeaders> = {
  get: (carrier, key) => carrier[key.toLowerCase()],
  keys: (carrier) => Object.keys(carrier),
};

/** `headers` (any fetch `HeadersInit`) plus `traceparent`/`tracestate`/`baggage` of the active span. */
export function injectTraceHeaders(headers?: HeadersLike, ctx: Context = context.active()): Headers {
  const result = new Headers(headers);
  propagator.inject(ctx, result, headersSetter);
  return result;
}

/** The context an incoming request's `traceparent` (and baggage) describes, on top of `ctx`. */
export function extractTraceContext(headers: Headers | IncomingHttpHeaders, ctx: Context = context.active()): Context {
  if (headers instanceof Headers) return propagator.extract(ctx, headers, headersGetter);
  return propagator.extract(ctx, headers, nodeHeadersGetter);
}

/** `fetch` with the active trace context injected into the request headers. Opens no span itself. */
export function tracedFetch(input: string | URL | Request, init: RequestInit = {}, fetchImpl: typeof fetch = globalThis.fetch): Promise<Response> {
  const base = input instanceof Request ? input.headers : undefined;
  const headers = injectTraceHeaders(init.headers ?? base);
  return fetchImpl(input, { ...init, headers });
}

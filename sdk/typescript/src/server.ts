/**
 * Incoming requests: a SERVER span per request, child of the caller's `traceparent`, active while the
 * handler runs, for Node's `http` servers (`traceRequests`), Express/Connect (`tracingMiddleware`) and
 * Next.js App Router route handlers (`withTracing`, Fetch-API `Request`/`Response`).
 *
 * The span is named `<METHOD> <route>` when a route is given, else `<METHOD> <path>`; it carries
 * `http.request.method`, `url.path`, `http.response.status_code` and an error status for 5xx answers
 * or a thrown error. Query strings are never recorded (they often hold tokens).
 */

import type { IncomingMessage, ServerResponse } from "node:http";

import { context, SpanKind, SpanStatusCode, trace, type Context, type Span } from "@opentelemetry/api";

import { currentClient, TRACER_NAME } from "./client.js";
import { extractTraceContext } from "./propagation.js";
import { VERSION } from "./version.js";

export interface ServerSpanOptions {
  /** Low-cardinality route for the span name, e.g. `/api/chat` or `/users/:id`. */
  route?: string | ((path: string) => string);
}

type NodeHandler = (request: IncomingMessage, response: ServerResponse) => unknown;
type NextFunction = (error?: unknown) => void;

/** Wrap a `http.createServer` handler so each request runs inside its own server span. */
export function traceRequests(handler: NodeHandler, options: ServerSpanOptions = {}): NodeHandler {
  return (request, response) => {
    const { span, active } = startNodeSpan(request, response, options);
    return context.with(active, () => {
      try {
        const result = handler(request, response);
        if (result instanceof Promise) {
          return result.catch((error: unknown) => {
            fail(span, error);
            throw error;
          });
        }
        return result;
      } catch (error) {
        fail(span, error);
        throw error;
      }
    });
  };
}

/** Express/Connect middleware: the rest of the chain runs inside the request's server span. */
export function tracingMiddleware(options: ServerSpanOptions = {}) {
  return (request: IncomingMessage, response: ServerResponse, next: NextFunction): void => {
    const { active } = startNodeSpan(request, response, options);
    context.with(active, () => next());
  };
}

type RouteHandler<C> = (request: Request, routeContext: C) => Response | Promise<Response>;

/** Wrap a Next.js route handler (`export const POST = withTracing(async (request) => …)`). */
export function withTracing<C = unknown>(handler: RouteHandler<C>, options: ServerSpanOptions = {}): (request: Request, routeContext: C) => Promise<Response> {
  return async (request, routeContext) => {
    const path = new URL(request.url).pathname;
    const { span, active } = startSpan(request.method, path, extractTraceContext(request.headers), options);
    try {
      const response = await context.with(active, () => handler(request, routeContext));
      finishWithStatus(span, response.status);
      return response;
    } catch (error) {
      fail(span, error);
      span.end();
      throw error;
    }
  };
}

function startNodeSpan(request: IncomingMessage, response: ServerResponse, options: ServerSpanOptions) {
  const path = (request.url ?? "/").split("?")[0] ?? "/";
  const started = startSpan(request.method ?? "GET", path, extractTraceContext(request.headers), options);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    finishWithStatus(started.span, response.statusCode);
  };
  response.once("finish", end);
  response.once("close", end);
  return started;
}

function startSpan(method: string, path: string, parent: Context, options: ServerSpanOptions): { span: Span; active: Context } {
  const tracer = currentClient()?.tracer ?? trace.getTracer(TRACER_NAME, VERSION);
  const route = typeof options.route === "function" ? options.route(path) : options.route;
  const span = tracer.startSpan(
    `${method} ${route ?? path}`,
    {
      kind: SpanKind.SERVER,
      attributes: { "http.request.method": method, "url.path": path, ...(route ? { "http.route": route } : {}) },
    },
    parent,
  );
  return { span, active: trace.setSpan(parent, span) };
}

function finishWithStatus(span: Span, status: number): void {
  span.setAttribute("http.response.status_code", status);
  if (status >= 500) {
    span.setAttribute("error.type", String(status));
    span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${status}` });
  }
  span.end();
}

function fail(span: Span, error: unknown): void {
  const name = error instanceof Error ? error.name : typeof error;
  span.recordException(error instanceof Error ? error : String(error));
  span.setAttribute("error.type", name);
  span.setStatus({ code: SpanStatusCode.ERROR, message: name });
}

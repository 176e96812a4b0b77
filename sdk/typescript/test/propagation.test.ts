/** W3C trace context across a Node client and a Node server, Express-style middleware and Next.js handlers. */

import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";

import { SpanKind, SpanStatusCode } from "@opentelemetry/api";

import { callToolGateway, currentScope, injectTraceHeaders, toolCall, traceAgentRun, tracedFetch, traceRequests, tracingMiddleware, withTracing } from "../src/index.js";
import { testTracing, type TestTracing } from "./tracing.js";

function serve(handler: (request: IncomingMessage, response: ServerResponse) => unknown): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => void handler(request, response));
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

describe("a trace across a Node client and a Node server", () => {
  let tracing: TestTracing;

  before(() => {
    tracing = testTracing();
  });

  after(() => tracing.close());

  it("continues the client's trace in the server's spans", async () => {
    const server = await serve(
      traceRequests(
        async (_request, response) => {
          // Work done by the server's handler joins the same trace, under the server span.
          const result = await toolCall("lookup_order", () => ({ status: "shipped" }), { arguments: { id: 7 } });
          response.writeHead(200, { "Content-Type": "application/json" });
          response.end(JSON.stringify(result));
        },
        { route: "/tools/lookup_order" },
      ),
    );
    const answer = await traceAgentRun("orders-agent", () =>
      callToolGateway("lookup_order", { url: `${server.url}/tools/lookup_order?token=abc`, arguments: { id: 7 } }),
    );
    await server.close();
    assert.deepEqual(answer, { status: "shipped" });

    const root = tracing.span("invoke_agent orders-agent");
    const client = tracing.spans().find((span) => span.name === "execute_tool lookup_order" && span.kind === SpanKind.CLIENT);
    const serverSpan = tracing.span("POST /tools/lookup_order");
    const inner = tracing.spans().find((span) => span.name === "execute_tool lookup_order" && span.kind === SpanKind.INTERNAL);
    const traceId = root.spanContext().traceId;
    assert.equal(client?.spanContext().traceId, traceId);
    assert.equal(serverSpan.spanContext().traceId, traceId);
    assert.equal(inner?.spanContext().traceId, traceId);
    assert.equal(serverSpan.kind, SpanKind.SERVER);
    assert.equal(serverSpan.parentSpanContext?.spanId, client?.spanContext().spanId);
    assert.equal(serverSpan.parentSpanContext?.isRemote, true);
    assert.equal(inner?.parentSpanContext?.spanId, serverSpan.spanContext().spanId);
    assert.equal(serverSpan.attributes["http.request.method"], "POST");
    assert.equal(serverSpan.attributes["url.path"], "/tools/lookup_order");
    assert.equal(serverSpan.attributes["http.route"], "/tools/lookup_order");
    assert.equal(serverSpan.attributes["http.response.status_code"], 200);
    assert.ok(!JSON.stringify(serverSpan.attributes).includes("token=abc"));
  });

  it("marks the server span failed on a 5xx answer", async () => {
    const server = await serve(
      traceRequests((_request, response) => {
        response.writeHead(502).end();
      }),
    );
    await traceAgentRun("failing", async () => {
      await tracedFetch(`${server.url}/upstream`, { method: "GET" });
    });
    await server.close();
    const serverSpan = tracing.span("GET /upstream");
    assert.equal(serverSpan.status.code, SpanStatusCode.ERROR);
    assert.equal(serverSpan.attributes["error.type"], "502");
    assert.equal(serverSpan.parentSpanContext?.spanId, tracing.span("invoke_agent failing").spanContext().spanId);
  });

  it("runs an Express-style chain inside the server span", async () => {
    const middleware = tracingMiddleware({ route: (path) => path.replace(/\d+/g, ":id") });
    let traceInHandler = "";
    const server = await serve((request, response) =>
      middleware(request, response, () => {
        void toolCall("noop", () => "done").then(() => {
          traceInHandler = tracing.spans().find((span) => span.name === "execute_tool noop")?.spanContext().traceId ?? "";
          response.end("ok");
        });
      }),
    );
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    await fetch(`${server.url}/users/42`, { headers: { traceparent } });
    await server.close();
    const serverSpan = tracing.span("GET /users/:id");
    assert.equal(serverSpan.spanContext().traceId, "0af7651916cd43dd8448eb211c80319c");
    assert.equal(serverSpan.parentSpanContext?.spanId, "b7ad6b7169203331");
    assert.equal(traceInHandler, "0af7651916cd43dd8448eb211c80319c");
  });
});

describe("Next.js route handlers", () => {
  let tracing: TestTracing;

  before(() => {
    tracing = testTracing();
  });

  after(() => tracing.close());

  it("continues the caller's trace in a wrapped route handler", async () => {
    let scopeTrace = "";
    const POST = withTracing(
      async (request: Request) => {
        const body = (await request.json()) as { q: string };
        await toolCall("search", (call) => {
          scopeTrace = currentScope()?.traceId ?? "";
          return call.traceId ? [body.q] : [];
        });
        return Response.json({ ok: true });
      },
      { route: "/api/chat" },
    );
    const response = await POST(
      new Request("http://localhost:3000/api/chat", {
        method: "POST",
        headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "content-type": "application/json" },
        body: JSON.stringify({ q: "shoes" }),
      }),
      {},
    );
    assert.equal(response.status, 200);
    const serverSpan = tracing.span("POST /api/chat");
    assert.equal(serverSpan.kind, SpanKind.SERVER);
    assert.equal(serverSpan.spanContext().traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert.equal(serverSpan.parentSpanContext?.spanId, "00f067aa0ba902b7");
    assert.equal(tracing.span("execute_tool search").parentSpanContext?.spanId, serverSpan.spanContext().spanId);
    assert.equal(scopeTrace, "4bf92f3577b34da6a3ce929d0e0e4736");
  });

  it("records a thrown error on the server span and re-throws it", async () => {
    const GET = withTracing(() => {
      throw new RangeError("no such page");
    });
    await assert.rejects(GET(new Request("http://localhost:3000/api/broken"), {}), RangeError);
    const serverSpan = tracing.span("GET /api/broken");
    assert.equal(serverSpan.status.code, SpanStatusCode.ERROR);
    assert.equal(serverSpan.attributes["error.type"], "RangeError");
  });
});

describe("injectTraceHeaders", () => {
  it("adds nothing outside a span and a traceparent inside one", async () => {
    const tracing = testTracing();
    assert.equal(injectTraceHeaders({ accept: "text/plain" }).get("traceparent"), null);
    await traceAgentRun("headers", (run) => {
      const headers = injectTraceHeaders({ accept: "text/plain" });
      assert.equal(headers.get("accept"), "text/plain");
      assert.equal(headers.get("traceparent"), `00-${run.traceId}-${run.spanId}-01`);
    });
    await tracing.close();
  });
});

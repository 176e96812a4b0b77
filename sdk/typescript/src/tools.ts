/**
 * Traced calls to HTTP tool gateways: `POST {url}` with `{"tool", "arguments", "call_id"}` as JSON, one
 * `execute_tool <name>` span (kind CLIENT) per call, `traceparent` injected so the gateway's spans join
 * the trace, arguments and result captured as the `tool_args` and `tool_result` payloads.
 */

import { SpanKind } from "@opentelemetry/api";

import { SERVER_ADDRESS, SERVER_PORT } from "./attributes.js";
import { fetchWithRetry, HttpStatusError, type RetryPolicy } from "./retry.js";
import { toolCall } from "./spans.js";

export interface ToolGatewayOptions {
  url: string;
  arguments: unknown;
  callId?: string;
  description?: string;
  headers?: Record<string, string>;
  retry?: RetryPolicy;
  fetch?: typeof fetch;
}

/** Call tool `name` through the gateway at `options.url`; resolves to the parsed JSON (or text) answer. */
export function callToolGateway(name: string, options: ToolGatewayOptions): Promise<unknown> {
  const target = new URL(options.url);
  const port = target.port ? Number(target.port) : target.protocol === "https:" ? 443 : 80;
  return toolCall(
    name,
    async (call) => {
      const response = await fetchWithRetry(
        call,
        options.url,
        {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json", ...options.headers },
          body: JSON.stringify({ tool: name, arguments: options.arguments, call_id: options.callId ?? null }),
        },
        options.retry,
        options.fetch ?? globalThis.fetch,
      );
      const text = await response.text();
      call.setAttribute("http.response.status_code", response.status);
      if (!response.ok) throw new HttpStatusError(response.status, text, text.slice(0, 200));
      const isJson = (response.headers.get("content-type") ?? "").includes("json");
      return isJson ? (JSON.parse(text) as unknown) : text;
    },
    {
      arguments: options.arguments,
      kind: SpanKind.CLIENT,
      ...(options.callId ? { callId: options.callId } : {}),
      ...(options.description ? { description: options.description } : {}),
      attributes: { [SERVER_ADDRESS]: target.hostname, [SERVER_PORT]: port },
    },
  );
}

/**
 * Local HTTP servers the tests talk to: an OpenAI/Anthropic-style model endpoint that answers from a
 * script of responses, and a recorder that keeps every request it receives. They bind 127.0.0.1 on a free
 * port and are closed by the test that started them.
 */

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface ScriptedResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Wait this long before answering (to trip a client timeout). */
  delayMs?: number;
}

export interface LocalServer {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Answers each request with the next scripted response (the last one repeats). */
export function scriptedServer(script: ScriptedResponse[] | ((request: RecordedRequest) => ScriptedResponse)): Promise<LocalServer> {
  let index = 0;
  return listen(async (recorded, response) => {
    const next = typeof script === "function" ? script(recorded) : (script[Math.min(index++, script.length - 1)] as ScriptedResponse);
    if (next.delayMs) await new Promise((resolve) => setTimeout(resolve, next.delayMs).unref());
    if (response.destroyed) return;
    const body = typeof next.body === "string" ? next.body : JSON.stringify(next.body ?? {});
    response.writeHead(next.status ?? 200, { "Content-Type": "application/json", ...next.headers });
    response.end(body);
  });
}

export function listen(handle: (request: RecordedRequest, response: ServerResponse) => void | Promise<void>): Promise<LocalServer> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const recorded = {
        method: request.method ?? "",
        path: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(recorded);
      void handle(recorded, response);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

export function openaiCompletion(content: string, usage = { prompt_tokens: 21, completion_tokens: 7 }): unknown {
  return {
    id: "chatcmpl-test-1",
    object: "chat.completion",
    model: "gpt-4o-mini-2024-07-18",
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

/**
 * Against a live TraceFoundry server (started by `traces/tests/test_typescript_sdk_live.py`):
 * the example agent exports a trace whose tool call crosses into a Python service, and the trace is read
 * back through the API; then an in-process run checks payload upload, server-side refs and redaction.
 *
 * Needs TRACEFOUNDRY_URL, TRACEFOUNDRY_INGEST_KEY, TRACEFOUNDRY_API_TOKEN (an engineer's API token),
 * PYTHON_TOOL_SERVICE_URL and TRACEFOUNDRY_LIVE_RESULT (a JSON file the pytest side reads afterwards).
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";

import { init, openaiChat, shutdown, traceAgentRun } from "../../src/index.js";
import { scriptedServer, type LocalServer, type RecordedRequest, type ScriptedResponse } from "../servers.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (the live test is started by traces/tests/test_typescript_sdk_live.py)`);
  return value;
}

const URL_ = required("TRACEFOUNDRY_URL").replace(/\/+$/, "");
const INGEST_KEY = required("TRACEFOUNDRY_INGEST_KEY");
const AUTH = `Token ${required("TRACEFOUNDRY_API_TOKEN")}`;
const PYTHON_SERVICE = required("PYTHON_TOOL_SERVICE_URL");
const RESULT_FILE = required("TRACEFOUNDRY_LIVE_RESULT");
const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const SECRET = "sk-proj-LIVEabcdefghijklmnopqrstuvwxyz0123";

interface SpanItem {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  name: string;
  kind: number;
  category: string;
  service: string;
  model: string;
  provider: string;
  tool_name: string;
  input_tokens: number;
  output_tokens: number;
  retry_count: number;
  is_orphan: boolean;
  payload_refs: { ref: string; role: string; attribute: string; size_bytes: number }[];
}

async function api<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${URL_}${path}`, { headers: { Authorization: AUTH, Accept: "application/json" } });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

/** The trace's spans once `count` of them are stored (spans from two services arrive separately). */
async function spansOf(traceId: string, count: number): Promise<SpanItem[]> {
  const deadline = Date.now() + 30_000;
  let last: SpanItem[] = [];
  while (Date.now() < deadline) {
    const { status, body } = await api<{ items: SpanItem[] }>(`/api/traces/${traceId}/spans`);
    if (status === 200 && body.items.length >= count) return body.items;
    last = status === 200 ? body.items : last;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`trace ${traceId} has ${last.length} spans stored, expected ${count}`);
}

function modelServer(): Promise<LocalServer> {
  let calls = 0;
  return scriptedServer((request: RecordedRequest): ScriptedResponse => {
    calls += 1;
    // The first call is throttled once, so the trace shows a retry.
    if (calls === 1) return { status: 429, headers: { "Retry-After": "0" }, body: { error: { message: "rate limited" } } };
    const asked = JSON.parse(request.body.toString()) as { tools?: unknown[] };
    const message = asked.tools
      ? {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_live_1", type: "function", function: { name: "lookup_order", arguments: '{"order_id":1042}' } }],
        }
      : { role: "assistant", content: "Noted." };
    return {
      body: {
        id: `chatcmpl-live-${calls}`,
        model: "gpt-4o-mini-2024-07-18",
        choices: [{ index: 0, message, finish_reason: asked.tools ? "tool_calls" : "stop" }],
        usage: { prompt_tokens: 40, completion_tokens: 12, total_tokens: 52 },
      },
    };
  });
}

function runExample(env: Record<string, string>): Promise<{ trace_id: string; answer: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PACKAGE_DIR, "examples", "agent.mjs"), "Where is order 1042?"], {
      cwd: PACKAGE_DIR,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`examples/agent.mjs exited with ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as { trace_id: string; answer: string });
    });
  });
}

const result: Record<string, unknown> = {};

describe("a trace across the TypeScript example agent and a Python tool service", () => {
  let model: LocalServer;
  let spans: SpanItem[] = [];
  let traceId = "";

  before(async () => {
    model = await modelServer();
    const output = await runExample({
      TRACEFOUNDRY_URL: URL_,
      TRACEFOUNDRY_INGEST_KEY: INGEST_KEY,
      OPENAI_BASE_URL: `${model.url}/v1`,
      OPENAI_API_KEY: "sk-test-not-a-real-key-0000000000",
      OTEL_SERVICE_NAME: "ts-example-agent",
      TRACEFOUNDRY_ENVIRONMENT: "live-test",
      TOOL_GATEWAY_URL: `${PYTHON_SERVICE}/tools/lookup_order`,
    });
    assert.equal(output.answer, "Order 1042: shipped.");
    traceId = output.trace_id;
    // invoke_agent, chat, execute_tool (TypeScript) + POST, execute_tool (Python).
    spans = await spansOf(traceId, 5);
    result.example_trace_id = traceId;
  });

  after(() => model.close());

  it("stores one tree: agent → chat and tool call → Python server span → Python tool span", () => {
    const byName = (name: string, service: string) => {
      const found = spans.filter((span) => span.name === name && span.service === service);
      assert.equal(found.length, 1, `one ${name} span of ${service}`);
      return found[0] as SpanItem;
    };
    const root = byName("invoke_agent order-support", "ts-example-agent");
    const chat = byName("chat gpt-4o-mini", "ts-example-agent");
    const tsTool = byName("execute_tool lookup_order", "ts-example-agent");
    const pyServer = byName("POST /tools/lookup_order", "py-tool-service");
    const pyTool = byName("execute_tool lookup_order", "py-tool-service");
    assert.equal(spans.length, 5);
    assert.equal(root.parent_span_id, "");
    assert.equal(chat.parent_span_id, root.span_id);
    assert.equal(tsTool.parent_span_id, root.span_id);
    assert.equal(pyServer.parent_span_id, tsTool.span_id);
    assert.equal(pyTool.parent_span_id, pyServer.span_id);
    assert.ok(spans.every((span) => span.trace_id === traceId && !span.is_orphan));
    assert.equal(root.category, "agent");
    assert.equal(chat.category, "llm");
    assert.equal(tsTool.category, "tool");
    assert.equal(pyTool.category, "tool");
    Object.assign(result, { ts_tool_span_id: tsTool.span_id, py_server_span_id: pyServer.span_id, chat_span_id: chat.span_id });
  });

  it("maps the chat span's model, provider, tokens and retry", () => {
    const chat = spans.find((span) => span.name === "chat gpt-4o-mini") as SpanItem;
    assert.equal(chat.model, "gpt-4o-mini-2024-07-18");
    assert.equal(chat.provider, "openai");
    assert.equal(chat.input_tokens, 40);
    assert.equal(chat.output_tokens, 12);
    assert.equal(chat.retry_count, 1);
  });

  it("summarises the trace across both services", async () => {
    const { status, body } = await api<{
      trace: { service: string; environment: string; span_count: number; llm_call_count: number; tool_call_count: number; retry_count: number; tools: string[] };
      services: { service: string; span_count: number }[];
    }>(`/api/traces/${traceId}`);
    assert.equal(status, 200);
    assert.equal(body.trace.service, "ts-example-agent");
    assert.equal(body.trace.environment, "live-test");
    assert.equal(body.trace.span_count, 5);
    assert.equal(body.trace.llm_call_count, 1);
    assert.equal(body.trace.retry_count, 1);
    assert.deepEqual(body.trace.tools, ["lookup_order"]);
    assert.deepEqual(
      body.services.map((service) => [service.service, service.span_count]).sort(),
      [
        ["py-tool-service", 2],
        ["ts-example-agent", 3],
      ],
    );
  });

  it("links the payload refs the SDK uploaded, and serves their content to an engineer", async () => {
    const tsTool = spans.find((span) => span.name === "execute_tool lookup_order" && span.service === "ts-example-agent") as SpanItem;
    const roles = tsTool.payload_refs.map((ref) => ref.role).sort();
    assert.deepEqual(roles, ["tool_args", "tool_result"]);
    const resultRef = tsTool.payload_refs.find((ref) => ref.role === "tool_result")?.ref ?? "";
    const { status, body } = await api<{ content: string; sha256: string }>(`/api/payloads/${resultRef}`);
    assert.equal(status, 200);
    assert.equal(body.content, '{"order_id":1042,"status":"shipped","eta_days":2}');
    // Spans name payloads by an encrypted ref; the content hash is shown to those who may read the content.
    assert.match(resultRef, /^ref:[0-9a-f]{64}$/);
    assert.equal(createHash("sha256").update(body.content).digest("hex"), body.sha256);
  });
});

describe("payloads uploaded by an in-process run", () => {
  let model: LocalServer;
  let traceId = "";

  before(async () => {
    model = await modelServer();
    init({ url: URL_, ingestKey: INGEST_KEY, serviceName: "ts-live-inprocess", environment: "live-test", env: {} });
    traceId = await traceAgentRun(
      "redaction-check",
      async (run) => {
        const answer = await openaiChat({
          baseUrl: `${model.url}/v1`,
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: `My key is ${SECRET}, keep it safe` }],
          retry: { initialDelayMs: 1 },
        });
        run.recordOutput(answer.text);
        return run.traceId;
      },
      { input: `question with ${SECRET}` },
    );
    await shutdown();
  });

  after(() => model.close());

  it("uploads every payload under the ref the server computes itself", async () => {
    const spans = await spansOf(traceId, 2);
    const refs = spans.flatMap((span) => span.payload_refs);
    assert.deepEqual(refs.map((ref) => ref.role).sort(), ["input", "input", "output", "output"]);
    for (const ref of refs) {
      const { status, body } = await api<{ content: string; sha256: string }>(`/api/payloads/${ref.ref}`);
      assert.equal(status, 200);
      assert.equal(createHash("sha256").update(body.content).digest("hex"), body.sha256);
      assert.ok(!body.content.includes(SECRET));
    }
    const chat = spans.find((span) => span.name === "chat gpt-4o-mini") as SpanItem;
    const input = chat.payload_refs.find((ref) => ref.role === "input")?.ref ?? "";
    const { body } = await api<{ content: string }>(`/api/payloads/${input}`);
    assert.equal(body.content, '[{"role":"user","content":"My key is [REDACTED:openai_api_key], keep it safe"}]');
    result.inprocess_trace_id = traceId;
    result.inprocess_refs = refs.map((ref) => ref.ref);
    writeFileSync(RESULT_FILE, JSON.stringify(result));
  });
});

/** Span names, kinds, attributes, events and roll-ups written by the agent, LLM and tool helpers. */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";

import { SpanKind, SpanStatusCode } from "@opentelemetry/api";

import { anthropicMessages, callToolGateway, HttpStatusError, llmCall, openaiChat, toolCall, traceAgentRun } from "../src/index.js";
import { openaiCompletion, scriptedServer, type LocalServer } from "./servers.js";
import { testTracing, type TestTracing } from "./tracing.js";

const SECRET_KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";

describe("an agent run with an LLM call and a tool call", () => {
  let tracing: TestTracing;
  let model: LocalServer;
  let gateway: LocalServer;
  let runTraceId = "";

  before(async () => {
    tracing = testTracing();
    model = await scriptedServer([
      { status: 429, headers: { "Retry-After": "0" }, body: { error: { message: "slow down" } } },
      { body: openaiCompletion("Paris is sunny today.") },
    ]);
    gateway = await scriptedServer(() => ({ body: { temperature_c: 21, city: "Paris" } }));
    await traceAgentRun(
      "weather-agent",
      async (run) => {
        runTraceId = run.traceId;
        const answer = await openaiChat({
          baseUrl: `${model.url}/v1`,
          apiKey: SECRET_KEY,
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: `What's the weather in Paris? my key is ${SECRET_KEY}` }],
          temperature: 0.2,
          retry: { initialDelayMs: 1 },
        });
        const weather = await callToolGateway("get_weather", {
          url: `${gateway.url}/tools/get_weather`,
          arguments: { city: "Paris" },
          callId: "call_1",
        });
        run.recordOutput({ answer: answer.text, weather });
      },
      { conversationId: "conv-42", input: "What's the weather in Paris?" },
    );
    await tracing.client.flush();
  });

  after(async () => {
    await tracing.close();
    await model.close();
    await gateway.close();
  });

  it("opens invoke_agent, chat and execute_tool spans in one trace, nested under the run", () => {
    const root = tracing.span("invoke_agent weather-agent");
    const chat = tracing.span("chat gpt-4o-mini");
    const tool = tracing.span("execute_tool get_weather");
    assert.equal(tracing.spans().length, 3);
    assert.equal(root.parentSpanContext, undefined);
    assert.equal(root.spanContext().traceId, runTraceId);
    assert.equal(chat.parentSpanContext?.spanId, root.spanContext().spanId);
    assert.equal(tool.parentSpanContext?.spanId, root.spanContext().spanId);
    assert.equal(root.kind, SpanKind.INTERNAL);
    assert.equal(chat.kind, SpanKind.CLIENT);
    assert.equal(tool.kind, SpanKind.CLIENT);
  });

  it("writes GenAI attributes on the agent span", () => {
    const attributes = tracing.span("invoke_agent weather-agent").attributes;
    assert.equal(attributes["gen_ai.operation.name"], "invoke_agent");
    assert.equal(attributes["gen_ai.agent.name"], "weather-agent");
    assert.equal(attributes["gen_ai.conversation.id"], "conv-42");
    assert.match(String(attributes["tracefoundry.run.id"]), /^[0-9a-f-]{36}$/);
  });

  it("writes model, provider, usage and finish reasons on the chat span", () => {
    const attributes = tracing.span("chat gpt-4o-mini").attributes;
    assert.equal(attributes["gen_ai.operation.name"], "chat");
    assert.equal(attributes["gen_ai.provider.name"], "openai");
    assert.equal(attributes["gen_ai.request.model"], "gpt-4o-mini");
    assert.equal(attributes["gen_ai.request.temperature"], 0.2);
    assert.equal(attributes["gen_ai.response.model"], "gpt-4o-mini-2024-07-18");
    assert.equal(attributes["gen_ai.response.id"], "chatcmpl-test-1");
    assert.equal(attributes["gen_ai.usage.input_tokens"], 21);
    assert.equal(attributes["gen_ai.usage.output_tokens"], 7);
    assert.deepEqual(attributes["gen_ai.response.finish_reasons"], ["stop"]);
    assert.equal(attributes["server.address"], "127.0.0.1");
    assert.equal(attributes["http.response.status_code"], 200);
  });

  it("records the 429 as a retry event and count", () => {
    const chat = tracing.span("chat gpt-4o-mini");
    const retries = chat.events.filter((event) => event.name === "tracefoundry.retry");
    assert.equal(retries.length, 1);
    assert.deepEqual(retries[0]?.attributes, {
      "tracefoundry.retry.attempt": 2,
      "tracefoundry.retry.delay_s": 0,
      "tracefoundry.retry.reason": "HTTP 429",
    });
    assert.equal(chat.attributes["tracefoundry.retry.count"], 1);
    assert.equal(model.requests.length, 2);
  });

  it("writes tool name, type and call id on the tool span", () => {
    const attributes = tracing.span("execute_tool get_weather").attributes;
    assert.equal(attributes["gen_ai.operation.name"], "execute_tool");
    assert.equal(attributes["gen_ai.tool.name"], "get_weather");
    assert.equal(attributes["gen_ai.tool.type"], "function");
    assert.equal(attributes["gen_ai.tool.call.id"], "call_1");
  });

  it("rolls tokens and counts up onto the agent span", () => {
    const attributes = tracing.span("invoke_agent weather-agent").attributes;
    assert.equal(attributes["tracefoundry.rollup.input_tokens"], 21);
    assert.equal(attributes["tracefoundry.rollup.output_tokens"], 7);
    assert.equal(attributes["tracefoundry.rollup.total_tokens"], 28);
    assert.equal(attributes["tracefoundry.rollup.llm_calls"], 1);
    assert.equal(attributes["tracefoundry.rollup.tool_calls"], 1);
    assert.equal(attributes["tracefoundry.rollup.retries"], 1);
    assert.equal(attributes["tracefoundry.rollup.timeouts"], 0);
    assert.equal(attributes["tracefoundry.rollup.errors"], 0);
  });

  it("references payloads by the sha256 of their redacted bytes, never by content", () => {
    const expected: [string, string][] = [
      ["invoke_agent weather-agent", "input"],
      ["invoke_agent weather-agent", "output"],
      ["chat gpt-4o-mini", "input"],
      ["chat gpt-4o-mini", "output"],
      ["execute_tool get_weather", "tool_args"],
      ["execute_tool get_weather", "tool_result"],
    ];
    for (const [name, role] of expected) {
      const attributes = tracing.span(name).attributes;
      const ref = String(attributes[`tracefoundry.payload.${role}_ref`]);
      assert.match(ref, /^sha256:[0-9a-f]{64}$/);
      const stored = tracing.payload(ref);
      assert.equal(`sha256:${createHash("sha256").update(stored, "utf-8").digest("hex")}`, ref);
      assert.equal(attributes[`tracefoundry.payload.${role}_size`], Buffer.byteLength(stored));
    }
    const chatInput = tracing.payload(String(tracing.span("chat gpt-4o-mini").attributes["tracefoundry.payload.input_ref"]));
    assert.equal(chatInput, `[{"role":"user","content":"What's the weather in Paris? my key is [REDACTED:openai_api_key]"}]`);
    assert.equal(tracing.payload(String(tracing.span("execute_tool get_weather").attributes["tracefoundry.payload.tool_result_ref"])), `{"temperature_c":21,"city":"Paris"}`);
    const everything = JSON.stringify(tracing.spans().map((span) => [span.attributes, span.events]));
    assert.ok(!everything.includes("Paris is sunny"));
    assert.ok(!everything.includes("weather in Paris"));
    assert.ok(!everything.includes(SECRET_KEY));
  });

  it("sends the API key only to the model endpoint and the trace context to both", () => {
    const [first] = model.requests;
    assert.equal(first?.headers.authorization, `Bearer ${SECRET_KEY}`);
    const chat = tracing.span("chat gpt-4o-mini");
    const tool = tracing.span("execute_tool get_weather");
    assert.equal(first?.headers.traceparent, `00-${chat.spanContext().traceId}-${chat.spanContext().spanId}-01`);
    assert.equal(gateway.requests[0]?.headers.traceparent, `00-${tool.spanContext().traceId}-${tool.spanContext().spanId}-01`);
    assert.deepEqual(JSON.parse(gateway.requests[0]?.body.toString() ?? ""), {
      tool: "get_weather",
      arguments: { city: "Paris" },
      call_id: "call_1",
    });
  });

  it("puts service.name and deployment.environment.name on the resource", () => {
    const resource = tracing.span("chat gpt-4o-mini").resource.attributes;
    assert.equal(resource["service.name"], "ts-sdk-tests");
    assert.equal(resource["deployment.environment.name"], "test");
    assert.equal(resource["tracefoundry.sdk.version"], "0.1.0");
  });
});

describe("timeouts and errors", () => {
  let tracing: TestTracing;

  before(() => {
    tracing = testTracing();
  });

  after(() => tracing.close());

  it("records a timed-out attempt as a timeout event, then the retry that succeeded", async () => {
    const model = await scriptedServer([{ delayMs: 5000, body: openaiCompletion("late") }, { body: openaiCompletion("on time") }]);
    try {
      const answer = await openaiChat({
        baseUrl: model.url,
        model: "slow-model",
        messages: [{ role: "user", content: "hi" }],
        retry: { timeoutMs: 500, initialDelayMs: 1 },
      });
      assert.equal(answer.text, "on time");
    } finally {
      await model.close();
    }
    const chat = tracing.span("chat slow-model");
    const timeout = chat.events.find((event) => event.name === "tracefoundry.timeout");
    assert.deepEqual(timeout?.attributes, {
      "tracefoundry.timeout.reason": "no response within 500 ms",
      "tracefoundry.timeout.after_s": 0.5,
      "tracefoundry.timeout.attempt": 1,
    });
    assert.equal(chat.attributes["tracefoundry.timeout"], true);
    assert.equal(chat.attributes["tracefoundry.timeout.count"], 1);
    assert.equal(chat.attributes["tracefoundry.retry.count"], 1);
    assert.equal(chat.events.find((event) => event.name === "tracefoundry.retry")?.attributes?.["tracefoundry.retry.reason"], "timeout");
    assert.equal(chat.status.code, SpanStatusCode.UNSET);
  });

  it("fails the span with error.type and an exception event when the model answers 400", async () => {
    const model = await scriptedServer([{ status: 400, body: { error: { message: `bad request, key ${SECRET_KEY}` } } }]);
    let runError: unknown;
    try {
      await traceAgentRun("failing-agent", () =>
        openaiChat({ baseUrl: model.url, model: "gpt-bad", messages: [{ role: "user", content: "hi" }] }),
      );
    } catch (error) {
      runError = error;
    } finally {
      await model.close();
    }
    assert.ok(runError instanceof HttpStatusError);
    assert.equal(runError.status, 400);
    assert.equal(model.requests.length, 1);
    const chat = tracing.span("chat gpt-bad");
    assert.equal(chat.status.code, SpanStatusCode.ERROR);
    assert.equal(chat.status.message, "HttpStatusError: HTTP 400: bad request, key [REDACTED:openai_api_key]");
    assert.equal(chat.attributes["error.type"], "HttpStatusError");
    assert.equal(chat.attributes["http.response.status_code"], 400);
    const exception = chat.events.find((event) => event.name === "exception");
    assert.equal(exception?.attributes?.["exception.type"], "HttpStatusError");
    assert.ok(!JSON.stringify(exception).includes(SECRET_KEY));
    const root = tracing.span("invoke_agent failing-agent");
    assert.equal(root.status.code, SpanStatusCode.ERROR);
    assert.equal(root.attributes["tracefoundry.rollup.errors"], 2);
    assert.equal(root.attributes["tracefoundry.rollup.llm_calls"], 1);
  });

  it("gives up after the last attempt and counts every retry", async () => {
    const model = await scriptedServer([{ status: 503, body: { error: { message: "overloaded" } } }]);
    await assert.rejects(
      openaiChat({ baseUrl: model.url, model: "gpt-down", messages: [], retry: { maxAttempts: 3, initialDelayMs: 1 } }),
      (error: unknown) => error instanceof HttpStatusError && error.status === 503,
    );
    await model.close();
    const chat = tracing.span("chat gpt-down");
    assert.deepEqual(
      chat.events.filter((event) => event.name === "tracefoundry.retry").map((event) => event.attributes?.["tracefoundry.retry.attempt"]),
      [2, 3],
    );
    assert.equal(chat.attributes["tracefoundry.retry.count"], 2);
    assert.equal(model.requests.length, 3);
  });
});

describe("anthropic-style calls and local tools", () => {
  let tracing: TestTracing;

  before(() => {
    tracing = testTracing();
  });

  after(() => tracing.close());

  it("reads model, usage and stop reason from a Messages API answer", async () => {
    const model = await scriptedServer([
      {
        body: {
          id: "msg_01",
          type: "message",
          model: "claude-sonnet-4-5-20250929",
          content: [{ type: "text", text: "Bonjour" }],
          stop_reason: "end_turn",
          usage: { input_tokens: 12, output_tokens: 3 },
        },
      },
    ]);
    const answer = await anthropicMessages({
      baseUrl: model.url,
      apiKey: "test-key",
      model: "claude-sonnet-4-5",
      system: "Answer in French.",
      messages: [{ role: "user", content: "Hello" }],
    });
    await model.close();
    assert.equal(answer.text, "Bonjour");
    assert.equal(model.requests[0]?.path, "/v1/messages");
    assert.equal(model.requests[0]?.headers["x-api-key"], "test-key");
    const chat = tracing.span("chat claude-sonnet-4-5");
    assert.equal(chat.attributes["gen_ai.provider.name"], "anthropic");
    assert.equal(chat.attributes["gen_ai.response.model"], "claude-sonnet-4-5-20250929");
    assert.equal(chat.attributes["gen_ai.usage.input_tokens"], 12);
    assert.equal(chat.attributes["gen_ai.usage.output_tokens"], 3);
    assert.equal(chat.attributes["gen_ai.request.max_tokens"], 1024);
    assert.deepEqual(chat.attributes["gen_ai.response.finish_reasons"], ["end_turn"]);
    await tracing.client.flush();
    const input = tracing.payload(String(chat.attributes["tracefoundry.payload.input_ref"]));
    assert.equal(input, `{"system":"Answer in French.","messages":[{"role":"user","content":"Hello"}]}`);
  });

  it("traces a local tool function and a hand-made LLM call inside a nested run", async () => {
    await traceAgentRun("outer", async () => {
      await traceAgentRun("inner", async () => {
        await llmCall("local-model", (call) => call.setResponse({ output: "ok", inputTokens: 5, outputTokens: 2, costUsd: 0.001 }), { provider: "ollama" });
        await toolCall("add", () => 3, { arguments: { a: 1, b: 2 } });
      });
    });
    const inner = tracing.span("invoke_agent inner");
    const outer = tracing.span("invoke_agent outer");
    assert.equal(inner.parentSpanContext?.spanId, outer.spanContext().spanId);
    assert.equal(inner.attributes["tracefoundry.rollup.cost_usd"], 0.001);
    assert.equal(outer.attributes["tracefoundry.rollup.input_tokens"], 5);
    assert.equal(outer.attributes["tracefoundry.rollup.llm_calls"], 1);
    assert.equal(outer.attributes["tracefoundry.rollup.tool_calls"], 1);
    assert.equal(tracing.span("chat local-model").attributes["tracefoundry.cost.usd"], 0.001);
    await tracing.client.flush();
    assert.equal(tracing.payload(String(tracing.span("execute_tool add").attributes["tracefoundry.payload.tool_result_ref"])), "3");
  });
});

#!/usr/bin/env node
// A two-step agent traced to TraceFoundry: one LLM call to an OpenAI-style endpoint, then one tool call.
//
//   TRACEFOUNDRY_URL=http://127.0.0.1:8000 TRACEFOUNDRY_INGEST_KEY=<key> \
//   OPENAI_BASE_URL=http://127.0.0.1:11434/v1 OPENAI_API_KEY=<key> OPENAI_MODEL=llama3.2 \
//   node examples/agent.mjs "Where is order 1042?"
//
// The model is asked which order to look up (a `lookup_order` tool call, or a bare number in its text).
// The tool runs in-process, or through an HTTP tool gateway when TOOL_GATEWAY_URL is set
// (`POST <url>` with {"tool", "arguments", "call_id"}; the gateway's own spans join the trace through
// `traceparent`). Prints one JSON line: {"trace_id", "answer", "tool_result"}.

import { callToolGateway, init, openaiChat, shutdown, toolCall, traceAgentRun } from "tracefoundry";

const question = process.argv[2] ?? "Where is order 1042?";
const model = process.env.OPENAI_MODEL ?? "gpt-4o-mini";
const tools = [
  {
    type: "function",
    function: {
      name: "lookup_order",
      description: "Look up the shipping status of an order by its number",
      parameters: { type: "object", properties: { order_id: { type: "integer" } }, required: ["order_id"] },
    },
  },
];

init({ serviceName: process.env.OTEL_SERVICE_NAME ?? "example-ts-agent", environment: process.env.TRACEFOUNDRY_ENVIRONMENT ?? "dev" });

const result = await traceAgentRun(
  "order-support",
  async (run) => {
    // Step 1: the model decides which order the user means.
    const messages = [
      { role: "system", content: "You help customers track orders. Call lookup_order with the order number." },
      { role: "user", content: question },
    ];
    const plan = await openaiChat({ model, messages, body: { tools }, retry: { maxAttempts: 3, initialDelayMs: 200 } });
    const call = plan.toolCalls[0];
    const args = call ? JSON.parse(call.function.arguments) : { order_id: Number(/\d+/.exec(plan.text ?? "")?.[0] ?? 0) };

    // Step 2: the tool, through a gateway service or in-process.
    const callId = call?.id ?? "call_local";
    const toolResult = process.env.TOOL_GATEWAY_URL
      ? await callToolGateway("lookup_order", { url: process.env.TOOL_GATEWAY_URL, arguments: args, callId })
      : await toolCall("lookup_order", () => ({ order_id: args.order_id, status: "shipped", eta_days: 2 }), { arguments: args, callId });

    const answer = `Order ${args.order_id}: ${toolResult.status}.`;
    run.recordOutput(answer);
    return { trace_id: run.traceId, answer, tool_result: toolResult };
  },
  { input: question, conversationId: process.env.CONVERSATION_ID },
);

await shutdown();
console.log(JSON.stringify(result));

// The Vercel AI SDK (`ai` + `@ai-sdk/openai`) with experimental_telemetry, against the OpenAI-compatible test
// server, exporting spans over OTLP/HTTP where OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and _HEADERS say.
//   node vercel_ai.mjs LLM_BASE_URL MARKER
// Texts carry MARKER as in testing/conventions/run_library.py: a tool call, an embedding, a failing call.
import { createOpenAI } from "@ai-sdk/openai";
import { trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { embed, generateText, jsonSchema, stepCountIs, tool } from "ai";

const [baseURL, marker] = process.argv.slice(2);
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ "service.name": "vercel-ai" }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
});
provider.register();
const tracer = trace.getTracer("vercel-ai-live");
const telemetry = { isEnabled: true, tracer, functionId: "support-agent", metadata: { sessionId: "session-live-1", userId: "user-live-1" } };
const openai = createOpenAI({ baseURL, apiKey: "test-key-for-the-local-server" });

const lookupOrder = tool({
  description: "Look up an order",
  inputSchema: jsonSchema({ type: "object", properties: { query: { type: "string" } }, required: ["query"] }),
  execute: async () => `toolresult-${marker}`,
});

await generateText({
  model: openai.chat("gpt-4o-mini"),
  system: `sysprompt-${marker}`,
  prompt: `prompt-${marker} where is my order?`,
  tools: { lookup_order: lookupOrder },
  stopWhen: stepCountIs(2),
  experimental_telemetry: telemetry,
});
await embed({
  model: openai.textEmbeddingModel("text-embedding-3-small"),
  value: `embedtext-${marker}`,
  experimental_telemetry: telemetry,
});
try {
  await generateText({
    model: openai.chat("error-model"),
    prompt: `prompt-${marker} fails`,
    maxRetries: 0,
    experimental_telemetry: telemetry,
  });
} catch {
  // The failing call is part of the scenario: its span must carry the error.
}
await provider.shutdown();
console.log(JSON.stringify({ library: "vercel-ai", marker }));

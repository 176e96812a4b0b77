/**
 * TraceFoundry SDK for Node.js and Next.js agents: OpenTelemetry tracing with redacted payload capture.
 *
 *     import { init, traceAgentRun, openaiChat, callToolGateway } from "tracefoundry";
 *     init({ serviceName: "support-bot" });
 *     await traceAgentRun("support", async (run) => {
 *       const answer = await openaiChat({ model: "gpt-4o-mini", messages });
 *       run.recordOutput(answer.text);
 *     }, { input: question });
 */

export { GEN_AI, OPERATION, RETRY_EVENT, TIMEOUT_EVENT, TF, payloadRefAttribute, payloadSizeAttribute } from "./attributes.js";
export { Client, currentClient, flush, init, payloadStats, shutdown, TRACER_NAME, type InitOptions } from "./client.js";
export { ConfigurationError, DEFAULT_URL, resolveSettings, type RedactionMode, type Settings, type SettingsOptions } from "./config.js";
export { anthropicMessages, openaiChat, type AnthropicOptions, type ChatOptions, type ChatResult } from "./llm.js";
export { PayloadCapture, PayloadUploader, serialize, sha256Ref, type CapturedPayload, type UploadStats } from "./payloads.js";
export { extractTraceContext, injectTraceHeaders, propagator, tracedFetch } from "./propagation.js";
export { buildRedactor, DEFAULT_POLICY_FILE, loadPatterns, PolicyError, pythonRegexToJs, Redactor, type Pattern } from "./redaction.js";
export { DEFAULT_RETRY_STATUSES, fetchWithRetry, HttpStatusError, type RetryPolicy } from "./retry.js";
export { traceRequests, tracingMiddleware, withTracing, type ServerSpanOptions } from "./server.js";
export {
  AgentRun,
  currentRun,
  currentScope,
  llmCall,
  LlmCall,
  recordRetry,
  recordTimeout,
  SpanScope,
  toolCall,
  ToolCall,
  traceAgentRun,
  type AgentRunOptions,
  type LlmCallOptions,
  type LlmResponse,
  type ToolCallOptions,
} from "./spans.js";
export { callToolGateway, type ToolGatewayOptions } from "./tools.js";
export { VERSION } from "./version.js";

/**
 * Attribute, event and span names the SDK writes: OpenTelemetry GenAI names plus TraceFoundry's own
 * `tracefoundry.*` names. Kept equal to the Python SDK's so traces from both SDKs read the same.
 */

export const GEN_AI = {
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  requestModel: "gen_ai.request.model",
  requestMaxTokens: "gen_ai.request.max_tokens",
  requestTemperature: "gen_ai.request.temperature",
  responseModel: "gen_ai.response.model",
  responseId: "gen_ai.response.id",
  responseFinishReasons: "gen_ai.response.finish_reasons",
  inputTokens: "gen_ai.usage.input_tokens",
  outputTokens: "gen_ai.usage.output_tokens",
  toolName: "gen_ai.tool.name",
  toolCallId: "gen_ai.tool.call.id",
  agentName: "gen_ai.agent.name",
  agentId: "gen_ai.agent.id",
  toolType: "gen_ai.tool.type",
  toolDescription: "gen_ai.tool.description",
  conversationId: "gen_ai.conversation.id",
} as const;

export const OPERATION = {
  invokeAgent: "invoke_agent",
  chat: "chat",
  executeTool: "execute_tool",
} as const;

export const RETRY_EVENT = "tracefoundry.retry";
export const TIMEOUT_EVENT = "tracefoundry.timeout";

export const TF = {
  runId: "tracefoundry.run.id",
  costUsd: "tracefoundry.cost.usd",
  retryAttempt: "tracefoundry.retry.attempt",
  retryDelayS: "tracefoundry.retry.delay_s",
  retryReason: "tracefoundry.retry.reason",
  retryCount: "tracefoundry.retry.count",
  timeout: "tracefoundry.timeout",
  timeoutCount: "tracefoundry.timeout.count",
  timeoutReason: "tracefoundry.timeout.reason",
  timeoutAfterS: "tracefoundry.timeout.after_s",
  timeoutAttempt: "tracefoundry.timeout.attempt",
  rollupPrefix: "tracefoundry.rollup.",
} as const;

export const ERROR_TYPE = "error.type";
export const SERVER_ADDRESS = "server.address";
export const SERVER_PORT = "server.port";

/** `tracefoundry.payload.<role>_ref`: the `sha256:<hex>` ref of a payload kept off the span. */
export function payloadRefAttribute(role: string): string {
  return `tracefoundry.payload.${role}_ref`;
}

/** `tracefoundry.payload.<role>_size`: the payload's size in bytes after redaction. */
export function payloadSizeAttribute(role: string): string {
  return `tracefoundry.payload.${role}_size`;
}

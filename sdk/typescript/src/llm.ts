/**
 * Traced fetch-based calls to OpenAI-style (`POST {base}/chat/completions`) and Anthropic-style
 * (`POST {base}/v1/messages`) JSON APIs: one `chat <model>` span per call with the provider, requested and
 * answered model, token usage and finish reasons; the messages and the answer become the `input` and
 * `output` payloads; retries, timeouts and HTTP errors are recorded on the span (see `retry.ts`).
 *
 * Works with any server that speaks either format (vLLM, Ollama, LiteLLM, Azure OpenAI-compatible
 * endpoints…). Streaming responses are not handled: requests are sent with `stream` left unset.
 */

import { GEN_AI, SERVER_ADDRESS, SERVER_PORT } from "./attributes.js";
import { fetchWithRetry, HttpStatusError, type RetryPolicy } from "./retry.js";
import { llmCall, type LlmCall } from "./spans.js";

export interface ChatOptions {
  model: string;
  messages: unknown[];
  /** OpenAI: defaults to `OPENAI_BASE_URL`, then https://api.openai.com/v1. Anthropic: `ANTHROPIC_BASE_URL`, then https://api.anthropic.com. */
  baseUrl?: string;
  /** OpenAI: defaults to `OPENAI_API_KEY`; Anthropic: `ANTHROPIC_API_KEY`. Never recorded. */
  apiKey?: string;
  temperature?: number;
  maxTokens?: number;
  /** Further request fields (tools, response_format…), sent as given. */
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
  retry?: RetryPolicy;
  fetch?: typeof fetch;
}

export interface AnthropicOptions extends ChatOptions {
  system?: string;
}

export interface ChatResult {
  /** The text of the first choice (OpenAI) or the text blocks joined (Anthropic). */
  text: string;
  /** Tool calls the model asked for: OpenAI `tool_calls`, Anthropic `tool_use` blocks. */
  toolCalls: unknown[];
  finishReasons: string[];
  model: string;
  responseId: string;
  inputTokens: number;
  outputTokens: number;
  /** The parsed response body. */
  raw: unknown;
}

interface OpenAIResponse {
  id?: string;
  model?: string;
  choices?: { message?: { content?: string | null; tool_calls?: unknown[] }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

interface AnthropicResponse {
  id?: string;
  model?: string;
  content?: { type?: string; text?: string }[];
  stop_reason?: string | null;
  usage?: { input_tokens?: number; output_tokens?: number };
}

/** `POST {baseUrl}/chat/completions`, traced. Throws `HttpStatusError` for an error status. */
export function openaiChat(options: ChatOptions): Promise<ChatResult> {
  const baseUrl = stripSlash(options.baseUrl ?? process.env.OPENAI_BASE_URL ?? "https://api.openai.com/v1");
  const url = `${baseUrl}/chat/completions`;
  const apiKey = options.apiKey ?? process.env.OPENAI_API_KEY;
  const body: Record<string, unknown> = { model: options.model, messages: options.messages, ...options.body };
  if (options.temperature !== undefined) body.temperature = options.temperature;
  if (options.maxTokens !== undefined) body.max_tokens = options.maxTokens;
  const headers: Record<string, string> = { "Content-Type": "application/json", ...options.headers };
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
  return llmCall(
    options.model,
    async (call) => {
      const parsed = (await postJson(call, url, headers, body, options)) as OpenAIResponse;
      const choices = parsed.choices ?? [];
      const result: ChatResult = {
        text: choices[0]?.message?.content ?? "",
        toolCalls: choices.flatMap((choice) => choice.message?.tool_calls ?? []),
        finishReasons: choices.map((choice) => choice.finish_reason ?? "").filter(Boolean),
        model: parsed.model ?? options.model,
        responseId: parsed.id ?? "",
        inputTokens: parsed.usage?.prompt_tokens ?? 0,
        outputTokens: parsed.usage?.completion_tokens ?? 0,
        raw: parsed,
      };
      record(call, result, choices.map((choice) => choice.message), parsed.usage !== undefined);
      return result;
    },
    callOptions("openai", url, options, options.messages),
  );
}

/** `POST {baseUrl}/v1/messages`, traced. Throws `HttpStatusError` for an error status. */
export function anthropicMessages(options: AnthropicOptions): Promise<ChatResult> {
  const baseUrl = stripSlash(options.baseUrl ?? process.env.ANTHROPIC_BASE_URL ?? "https://api.anthropic.com");
  const url = `${baseUrl}/v1/messages`;
  const apiKey = options.apiKey ?? process.env.ANTHROPIC_API_KEY;
  const body: Record<string, unknown> = {
    model: options.model,
    max_tokens: options.maxTokens ?? 1024,
    messages: options.messages,
    ...options.body,
  };
  if (options.system !== undefined) body.system = options.system;
  if (options.temperature !== undefined) body.temperature = options.temperature;
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "anthropic-version": "2023-06-01",
    ...options.headers,
  };
  if (apiKey) headers["x-api-key"] = apiKey;
  const input = options.system === undefined ? options.messages : { system: options.system, messages: options.messages };
  return llmCall(
    options.model,
    async (call) => {
      const parsed = (await postJson(call, url, headers, body, options)) as AnthropicResponse;
      const blocks = parsed.content ?? [];
      const result: ChatResult = {
        text: blocks
          .filter((block) => block.type === "text")
          .map((block) => block.text ?? "")
          .join(""),
        toolCalls: blocks.filter((block) => block.type === "tool_use"),
        finishReasons: parsed.stop_reason ? [parsed.stop_reason] : [],
        model: parsed.model ?? options.model,
        responseId: parsed.id ?? "",
        inputTokens: parsed.usage?.input_tokens ?? 0,
        outputTokens: parsed.usage?.output_tokens ?? 0,
        raw: parsed,
      };
      record(call, result, blocks, parsed.usage !== undefined);
      return result;
    },
    { ...callOptions("anthropic", url, options, input), maxTokens: options.maxTokens ?? 1024 },
  );
}

async function postJson(
  call: LlmCall,
  url: string,
  headers: Record<string, string>,
  body: Record<string, unknown>,
  options: ChatOptions,
): Promise<unknown> {
  const response = await fetchWithRetry(
    call,
    url,
    { method: "POST", headers, body: JSON.stringify(body) },
    options.retry,
    options.fetch ?? globalThis.fetch,
  );
  const text = await response.text();
  call.setAttribute("http.response.status_code", response.status);
  if (!response.ok) throw new HttpStatusError(response.status, text, errorDetail(text));
  return JSON.parse(text) as unknown;
}

function record(call: LlmCall, result: ChatResult, output: unknown, hasUsage: boolean): void {
  call.setResponse({
    output,
    model: result.model,
    responseId: result.responseId,
    finishReason: result.finishReasons,
    ...(hasUsage ? { inputTokens: result.inputTokens, outputTokens: result.outputTokens } : {}),
  });
}

function callOptions(provider: string, url: string, options: ChatOptions, messages: unknown) {
  const target = new URL(url);
  const port = target.port ? Number(target.port) : target.protocol === "https:" ? 443 : 80;
  return {
    provider,
    messages,
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
    attributes: { [SERVER_ADDRESS]: target.hostname, [SERVER_PORT]: port, [GEN_AI.providerName]: provider },
  };
}

/** The `error.message` of an OpenAI or Anthropic error body, else the start of the body. */
function errorDetail(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof parsed.error === "object" && typeof parsed.error.message === "string") return parsed.error.message;
    if (typeof parsed.error === "string") return parsed.error;
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 200);
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

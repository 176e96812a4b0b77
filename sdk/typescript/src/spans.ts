/**
 * Span helpers for agents: agent runs, LLM calls and tool calls, with retries, timeouts and roll-ups.
 *
 * Mirrors the Python SDK's `spans.py`. Each helper takes a function, opens a real OpenTelemetry span around
 * it (active in the OpenTelemetry context for everything the function awaits) and carries GenAI
 * semantic-convention attributes (`gen_ai.operation.name` = invoke_agent / chat / execute_tool, model,
 * provider, token usage, finish reasons, tool name and call id). Errors set the span status, `error.type`
 * and an `exception` event (its message redacted), then are re-thrown. Retries and timeouts become
 * `tracefoundry.retry` / `tracefoundry.timeout` events plus counts on the span. When an agent run ends, the
 * tokens, cost and counts of everything under it are written on its span as `tracefoundry.rollup.*`.
 *
 * Content (prompts, completions, tool arguments and results) never goes into span attributes: it is
 * captured as a payload (see `payloads.ts`) and the span gets `tracefoundry.payload.<role>_ref` and `_size`,
 * or, with capture off (or nowhere to store it), `tracefoundry.payload_hash.<role>` and `_size`.
 */

import { randomUUID } from "node:crypto";

import {
  context,
  createContextKey,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type AttributeValue,
  type Context,
  type Span,
} from "@opentelemetry/api";

import { ERROR_TYPE, GEN_AI, OPERATION, RETRY_EVENT, TF, TIMEOUT_EVENT, payloadRefAttribute, payloadSizeAttribute } from "./attributes.js";
import { currentClient, TRACER_NAME } from "./client.js";
import { PayloadCapture, type CapturedPayload } from "./payloads.js";
import { buildRedactor } from "./redaction.js";
import { VERSION } from "./version.js";

const ROLE = /^[a-z][a-z0-9_]*$/;
const SCOPE_KEY = createContextKey("tracefoundry.scope");
const RUN_KEY = createContextKey("tracefoundry.run");
let fallbackCapture: PayloadCapture | undefined;

/** A live span opened by one of the helpers; what the helper's function receives. */
export class SpanScope {
  retryCount = 0;
  timeoutCount = 0;
  failed = false;

  constructor(
    readonly span: Span,
    protected readonly payloads: PayloadCapture,
    /** The agent run this span reports its counts to. */
    protected readonly run: AgentRun | undefined,
  ) {}

  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  get spanId(): string {
    return this.span.spanContext().spanId;
  }

  setAttribute(key: string, value: AttributeValue): void {
    this.span.setAttribute(key, value);
  }

  /** Redact, hash and store `content` as the payload `role` of this span. Never throws for content. */
  capture(role: string, content: unknown): CapturedPayload | undefined {
    if (!ROLE.test(role)) throw new Error(`payload role ${JSON.stringify(role)} must be lowercase letters, digits and underscores`);
    let payload: CapturedPayload;
    try {
      payload = this.payloads.record(content);
    } catch (error) {
      // Capture must never break the agent.
      console.error(`tracefoundry: could not capture the ${role} payload`, error);
      return undefined;
    }
    if (payload.stored) {
      this.span.setAttribute(payloadRefAttribute(role), payload.ref);
    } else {
      // Not `tracefoundry.payload.<role>_sha256`: the server's policy treats any other
      // `tracefoundry.payload.*` key as content to move to the payload store.
      this.span.setAttribute(`tracefoundry.payload_hash.${role}`, payload.ref);
    }
    this.span.setAttribute(payloadSizeAttribute(role), payload.sizeBytes);
    return payload;
  }

  /** One more attempt is about to be made (`attempt` = its number, 2 for the first retry). */
  recordRetry(attempt?: number, delayS = 0, reason = ""): void {
    this.retryCount += 1;
    this.span.addEvent(RETRY_EVENT, {
      [TF.retryAttempt]: attempt ?? this.retryCount + 1,
      [TF.retryDelayS]: delayS,
      [TF.retryReason]: this.redact(reason),
    });
    this.span.setAttribute(TF.retryCount, this.retryCount);
  }

  /** Something inside this span gave up waiting after `afterS` seconds. */
  recordTimeout(afterS?: number, reason = "", attempt?: number): void {
    this.timeoutCount += 1;
    const attributes: Attributes = { [TF.timeoutReason]: this.redact(reason) };
    if (afterS !== undefined) attributes[TF.timeoutAfterS] = afterS;
    if (attempt !== undefined) attributes[TF.timeoutAttempt] = attempt;
    this.span.addEvent(TIMEOUT_EVENT, attributes);
    this.span.setAttribute(TF.timeout, true);
    this.span.setAttribute(TF.timeoutCount, this.timeoutCount);
  }

  /** Mark the span failed with an `exception` event; messages are redacted like payloads. */
  recordError(error: unknown): void {
    this.failed = true;
    const errorType = error instanceof Error ? error.name || error.constructor.name : typeof error;
    const message = this.redact(error instanceof Error ? error.message : String(error));
    const stack = this.redact(error instanceof Error ? (error.stack ?? "") : "");
    this.span.addEvent("exception", {
      "exception.type": errorType,
      "exception.message": message,
      "exception.stacktrace": stack,
    });
    this.span.setAttribute(ERROR_TYPE, errorType);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: message ? `${errorType}: ${message}` : errorType });
    if (errorType === "TimeoutError" && this.timeoutCount === 0) this.recordTimeout(undefined, message || errorType);
  }

  protected redact(text: string): string {
    return this.payloads.redactor.redact(text).text;
  }

  /** @internal */
  finish(): void {
    this.run?.addCounts({ retries: this.retryCount, timeouts: this.timeoutCount, errors: this.failed ? 1 : 0 });
  }
}

type RollupCounts = {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  llmCalls: number;
  toolCalls: number;
  retries: number;
  timeouts: number;
  errors: number;
};

/** The root span of one agent run; collects the roll-up of everything under it. */
export class AgentRun extends SpanScope {
  readonly counts: RollupCounts = {
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    llmCalls: 0,
    toolCalls: 0,
    retries: 0,
    timeouts: 0,
    errors: 0,
  };

  recordInput(content: unknown): CapturedPayload | undefined {
    return this.capture("input", content);
  }

  recordOutput(content: unknown): CapturedPayload | undefined {
    return this.capture("output", content);
  }

  addCounts(counts: Partial<RollupCounts>): void {
    for (const [name, value] of Object.entries(counts) as [keyof RollupCounts, number][]) {
      this.counts[name] += value;
    }
  }

  /** @internal */
  override finish(): void {
    this.addCounts({ retries: this.retryCount, timeouts: this.timeoutCount, errors: this.failed ? 1 : 0 });
    const c = this.counts;
    const rollup: Record<string, number> = {
      input_tokens: c.inputTokens,
      output_tokens: c.outputTokens,
      total_tokens: c.inputTokens + c.outputTokens,
      cost_usd: Math.round(c.costUsd * 1e10) / 1e10,
      llm_calls: c.llmCalls,
      tool_calls: c.toolCalls,
      retries: c.retries,
      timeouts: c.timeouts,
      errors: c.errors,
    };
    for (const [name, value] of Object.entries(rollup)) this.span.setAttribute(`${TF.rollupPrefix}${name}`, value);
    // A nested run reports its totals to the run around it (`run` is the enclosing run here).
    this.run?.addCounts({ ...c });
  }
}

export interface LlmResponse {
  output?: unknown;
  model?: string;
  responseId?: string;
  finishReason?: string | string[];
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
}

/** One model call; call `setResponse` with what the model answered. */
export class LlmCall extends SpanScope {
  recordInput(messages: unknown): CapturedPayload | undefined {
    return this.capture("input", messages);
  }

  setResponse(response: LlmResponse): void {
    if (response.output !== undefined && response.output !== null) this.capture("output", response.output);
    if (response.model) this.span.setAttribute(GEN_AI.responseModel, response.model);
    if (response.responseId) this.span.setAttribute(GEN_AI.responseId, response.responseId);
    if (response.finishReason && response.finishReason.length > 0) {
      const reasons = typeof response.finishReason === "string" ? [response.finishReason] : response.finishReason;
      this.span.setAttribute(GEN_AI.responseFinishReasons, reasons);
    }
    if (response.inputTokens !== undefined) this.span.setAttribute(GEN_AI.inputTokens, response.inputTokens);
    if (response.outputTokens !== undefined) this.span.setAttribute(GEN_AI.outputTokens, response.outputTokens);
    if (response.costUsd !== undefined) this.span.setAttribute(TF.costUsd, response.costUsd);
    this.run?.addCounts({
      inputTokens: response.inputTokens ?? 0,
      outputTokens: response.outputTokens ?? 0,
      costUsd: response.costUsd ?? 0,
    });
  }

  /** @internal */
  override finish(): void {
    super.finish();
    this.run?.addCounts({ llmCalls: 1 });
  }
}

/** One tool execution; its function's return value is captured as the `tool_result` payload. */
export class ToolCall extends SpanScope {
  recordArguments(args: unknown): CapturedPayload | undefined {
    return this.capture("tool_args", args);
  }

  setResult(result: unknown): CapturedPayload | undefined {
    return this.capture("tool_result", result);
  }

  /** @internal */
  override finish(): void {
    super.finish();
    this.run?.addCounts({ toolCalls: 1 });
  }
}

export interface AgentRunOptions {
  runId?: string;
  conversationId?: string;
  agentId?: string;
  /** Captured as the run's `input` payload. */
  input?: unknown;
  attributes?: Attributes;
}

/** Run `fn` inside the root span of an agent run (`invoke_agent <name>`). */
export function traceAgentRun<T>(name: string, fn: (run: AgentRun) => T | Promise<T>, options: AgentRunOptions = {}): Promise<T> {
  const attributes: Attributes = {
    [GEN_AI.operationName]: OPERATION.invokeAgent,
    [GEN_AI.agentName]: name,
    [TF.runId]: options.runId ?? randomUUID(),
    ...options.attributes,
  };
  if (options.conversationId) attributes[GEN_AI.conversationId] = options.conversationId;
  if (options.agentId) attributes[GEN_AI.agentId] = options.agentId;
  return openSpan(AgentRun, `${OPERATION.invokeAgent} ${name}`, SpanKind.INTERNAL, attributes, options.input, "input", fn);
}

export interface LlmCallOptions {
  provider?: string;
  operation?: string;
  /** Captured as the call's `input` payload. */
  messages?: unknown;
  temperature?: number;
  maxTokens?: number;
  attributes?: Attributes;
  /** CLIENT by default: a model call leaves the process. */
  kind?: SpanKind;
}

/** Run `fn` inside an LLM call span (`chat <model>`); `fn` calls `call.setResponse(...)`. */
export function llmCall<T>(model: string, fn: (call: LlmCall) => T | Promise<T>, options: LlmCallOptions = {}): Promise<T> {
  const operation = options.operation ?? OPERATION.chat;
  const attributes: Attributes = { [GEN_AI.operationName]: operation, [GEN_AI.requestModel]: model };
  if (options.provider) attributes[GEN_AI.providerName] = options.provider;
  if (options.temperature !== undefined) attributes[GEN_AI.requestTemperature] = options.temperature;
  if (options.maxTokens !== undefined) attributes[GEN_AI.requestMaxTokens] = options.maxTokens;
  Object.assign(attributes, options.attributes);
  return openSpan(LlmCall, `${operation} ${model}`, options.kind ?? SpanKind.CLIENT, attributes, options.messages, "input", fn);
}

export interface ToolCallOptions {
  callId?: string;
  /** Captured as the call's `tool_args` payload. */
  arguments?: unknown;
  toolType?: string;
  description?: string;
  attributes?: Attributes;
  /** INTERNAL by default; the gateway wrapper uses CLIENT. */
  kind?: SpanKind;
  /** Capture the function's return value as `tool_result` (default true). */
  captureResult?: boolean;
}

/** Run `fn` inside a tool call span (`execute_tool <name>`); its return value becomes `tool_result`. */
export function toolCall<T>(name: string, fn: (call: ToolCall) => T | Promise<T>, options: ToolCallOptions = {}): Promise<T> {
  const attributes: Attributes = {
    [GEN_AI.operationName]: OPERATION.executeTool,
    [GEN_AI.toolName]: name,
    [GEN_AI.toolType]: options.toolType ?? "function",
  };
  if (options.callId) attributes[GEN_AI.toolCallId] = options.callId;
  if (options.description) attributes[GEN_AI.toolDescription] = options.description;
  Object.assign(attributes, options.attributes);
  const captureResult = options.captureResult ?? true;
  return openSpan(
    ToolCall,
    `${OPERATION.executeTool} ${name}`,
    options.kind ?? SpanKind.INTERNAL,
    attributes,
    options.arguments,
    "tool_args",
    async (call: ToolCall) => {
      const result = await fn(call);
      if (captureResult && result !== undefined) call.setResult(result);
      return result;
    },
  );
}

/** The innermost span opened by these helpers in the active context. */
export function currentScope(ctx: Context = context.active()): SpanScope | undefined {
  return ctx.getValue(SCOPE_KEY) as SpanScope | undefined;
}

export function currentRun(ctx: Context = context.active()): AgentRun | undefined {
  return ctx.getValue(RUN_KEY) as AgentRun | undefined;
}

/** Record a retry on the innermost helper span (nothing happens outside one). */
export function recordRetry(attempt?: number, delayS = 0, reason = ""): void {
  currentScope()?.recordRetry(attempt, delayS, reason);
}

/** Record a timeout on the innermost helper span (nothing happens outside one). */
export function recordTimeout(afterS?: number, reason = ""): void {
  currentScope()?.recordTimeout(afterS, reason);
}

type ScopeClass<S extends SpanScope> = new (span: Span, payloads: PayloadCapture, run: AgentRun | undefined) => S;

async function openSpan<S extends SpanScope, T>(
  Scope: ScopeClass<S>,
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  content: unknown,
  role: string,
  fn: (scope: S) => T | Promise<T>,
): Promise<T> {
  const client = currentClient();
  const tracer = client?.tracer ?? trace.getTracer(TRACER_NAME, VERSION);
  const payloads = client?.payloads ?? captureWithoutClient();
  const parent = context.active();
  const span = tracer.startSpan(name, { kind, attributes }, parent);
  const scope = new Scope(span, payloads, currentRun(parent));
  let active = trace.setSpan(parent, span).setValue(SCOPE_KEY, scope);
  if (scope instanceof AgentRun) active = active.setValue(RUN_KEY, scope);
  try {
    if (content !== undefined && content !== null) scope.capture(role, content);
    return await context.with(active, () => fn(scope));
  } catch (error) {
    scope.recordError(error);
    throw error;
  } finally {
    try {
      scope.finish();
    } finally {
      span.end();
    }
  }
}

function captureWithoutClient(): PayloadCapture {
  // Not initialised: record sizes and hashes (of the redacted text) only, under the default policy.
  fallbackCapture ??= new PayloadCapture(buildRedactor("standard"), { capture: false });
  return fallbackCapture;
}

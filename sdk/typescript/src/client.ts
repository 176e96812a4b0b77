/**
 * `init()` and `shutdown()`: an OpenTelemetry tracer provider, the OTLP/HTTP protobuf exporter and payload
 * capture, configured from options and the environment (see `config.ts`).
 *
 * Like the Python SDK, TraceFoundry keeps its own tracer provider, so it works beside one the application
 * already registered: spans share the active OpenTelemetry context, so ours nest under the application's
 * and the reverse. `setGlobal: true` also makes ours the global provider. Context only flows through
 * `await` with a context manager: if the application has none, `init()` registers OpenTelemetry's
 * AsyncLocalStorage one (and removes it again on `shutdown()`).
 */

import { context, trace, type Attributes, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { CompressionAlgorithm } from "@opentelemetry/otlp-exporter-base";
import { defaultResource, detectResources, envDetector, resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

import { resolveSettings, type Settings, type SettingsOptions } from "./config.js";
import { PayloadCapture, PayloadUploader, type UploadStats } from "./payloads.js";
import { buildRedactor } from "./redaction.js";
import { VERSION } from "./version.js";

export const TRACER_NAME = "tracefoundry";

export interface InitOptions extends SettingsOptions {
  /** Extra resource attributes (explicit values win over `OTEL_RESOURCE_ATTRIBUTES`). */
  resourceAttributes?: Attributes;
  /** Replaces the OTLP/HTTP exporter (tests use OpenTelemetry's in-memory exporter). */
  spanExporter?: SpanExporter;
  /** false exports each span as it ends instead of in background batches. */
  batch?: boolean;
  /** Also register this provider as the global OpenTelemetry tracer provider. */
  setGlobal?: boolean;
  /** The fetch used for payload uploads (defaults to the global fetch; never instrumented). */
  fetch?: typeof fetch;
}

/** One configured SDK: where spans go, how payloads are captured. */
export class Client {
  readonly tracer: Tracer;
  private closed = false;

  constructor(
    readonly settings: Settings,
    readonly provider: NodeTracerProvider,
    readonly payloads: PayloadCapture,
    private readonly ownsContextManager: boolean,
    private readonly ownsGlobalProvider: boolean,
  ) {
    this.tracer = provider.getTracer(TRACER_NAME, VERSION);
  }

  /** Payloads first, so that a span never reaches the server long before what it refers to. */
  async flush(timeoutMs = 30_000): Promise<boolean> {
    const payloadsDone = await this.payloads.flush(timeoutMs);
    await this.provider.forceFlush();
    return payloadsDone;
  }

  async shutdown(timeoutMs = 30_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush(timeoutMs);
    await this.payloads.close(timeoutMs);
    await this.provider.shutdown();
    if (this.ownsGlobalProvider) trace.disable();
    if (this.ownsContextManager) context.disable();
  }
}

let current: Client | undefined;
let exitHookInstalled = false;

/** Set up tracing; every option is optional and falls back to the environment (see `config.ts`). */
export function init(options: InitOptions = {}): Client {
  const settings = resolveSettings(options);
  const exporter = options.spanExporter ?? otlpExporter(settings);
  const processor: SpanProcessor =
    options.batch === false ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
  const provider = new NodeTracerProvider({
    resource: resource(settings, options.resourceAttributes),
    spanProcessors: [processor],
  });
  const ownsContextManager = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const ownsGlobalProvider = options.setGlobal === true && trace.setGlobalTracerProvider(provider);
  const client = new Client(settings, provider, payloadCapture(settings, options.fetch), ownsContextManager, ownsGlobalProvider);
  const previous = current;
  current = client;
  if (previous) void previous.shutdown();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A script that just returns still gets its last batch and payloads out.
    process.once("beforeExit", () => void shutdown());
  }
  return client;
}

/** Flush payloads and spans and close the exporter. Safe to call twice; also runs before exit. */
export async function shutdown(timeoutMs = 30_000): Promise<void> {
  const client = current;
  current = undefined;
  await client?.shutdown(timeoutMs);
}

export async function flush(timeoutMs = 30_000): Promise<boolean> {
  return current ? current.flush(timeoutMs) : true;
}

export function currentClient(): Client | undefined {
  return current;
}

/** Counts of payloads queued, uploaded, retried, failed, dropped and written so far. */
export function payloadStats(): UploadStats {
  return (
    current?.payloads.stats ?? {
      queued: 0,
      uploaded: 0,
      retried: 0,
      failed: 0,
      dropped: 0,
      written: 0,
      mismatched: 0,
      pending: 0,
    }
  );
}

function otlpExporter(settings: Settings): OTLPTraceExporter {
  return new OTLPTraceExporter({
    url: settings.otlpEndpoint,
    headers: settings.headers,
    compression: settings.compression === "gzip" ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
  });
}

function resource(settings: Settings, extra: Attributes | undefined): Resource {
  // The env detector reads OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME; explicit values win.
  const attributes: Attributes = { "tracefoundry.sdk.version": VERSION, "tracefoundry.sdk.language": "nodejs" };
  if (settings.serviceName) attributes["service.name"] = settings.serviceName;
  if (settings.environment) attributes["deployment.environment.name"] = settings.environment;
  return defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ ...attributes, ...extra }));
}

function payloadCapture(settings: Settings, fetchImpl: typeof fetch | undefined): PayloadCapture {
  const redactor = buildRedactor(settings.redactionMode, settings.policyFile);
  let uploader: PayloadUploader | undefined;
  if (settings.capturePayloads && !settings.payloadDir && settings.ingestKey) {
    uploader = new PayloadUploader(settings.payloadsUrl, settings.ingestKey, {
      redactionMode: settings.redactionMode,
      ...(fetchImpl ? { fetch: fetchImpl } : {}),
    });
  } else if (settings.capturePayloads && !settings.payloadDir) {
    console.warn("tracefoundry: payload capture is on but there is no ingest key or payload directory: recording hashes only");
  }
  return new PayloadCapture(redactor, {
    capture: settings.capturePayloads,
    ...(uploader ? { uploader } : {}),
    ...(settings.payloadDir ? { payloadDir: settings.payloadDir } : {}),
  });
}

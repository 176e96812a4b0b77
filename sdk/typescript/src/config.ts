/**
 * Resolve the SDK's settings from `init()` options, then the environment, then defaults.
 *
 * Same precedence as the Python SDK: an explicit option, then the TraceFoundry variable, then the standard
 * OpenTelemetry variable (where there is one), then the default. The OTLP endpoint follows the OTLP
 * exporter rules: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as-is, `OTEL_EXPORTER_OTLP_ENDPOINT` gets
 * `/v1/traces` appended, a TraceFoundry server URL gets `/otlp/v1/traces`.
 */

export type RedactionMode = "off" | "standard" | "strict";
export const REDACTION_MODES: readonly RedactionMode[] = ["off", "standard", "strict"];
export const DEFAULT_URL = "http://127.0.0.1:8000";

export type Environment = Readonly<Record<string, string | undefined>>;

export class ConfigurationError extends Error {
  override name = "ConfigurationError";
}

export interface SettingsOptions {
  serviceName?: string;
  environment?: string;
  url?: string;
  otlpEndpoint?: string;
  ingestKey?: string;
  redactionMode?: string;
  capturePayloads?: boolean;
  payloadDir?: string;
  policyFile?: string;
  /** Read instead of `process.env` (tests). */
  env?: Environment;
}

export interface Settings {
  serviceName: string | undefined;
  environment: string | undefined;
  url: string;
  otlpEndpoint: string;
  ingestKey: string | undefined;
  headers: Record<string, string>;
  compression: "gzip" | "none";
  redactionMode: RedactionMode;
  capturePayloads: boolean;
  payloadDir: string | undefined;
  policyFile: string | undefined;
  payloadsUrl: string;
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off"]);

export function resolveSettings(options: SettingsOptions = {}): Settings {
  const env = options.env ?? process.env;
  const url = (options.url || env.TRACEFOUNDRY_URL || DEFAULT_URL).replace(/\/+$/, "");
  const ingestKey = options.ingestKey || env.TRACEFOUNDRY_INGEST_KEY || undefined;
  const headers = parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS || env.OTEL_EXPORTER_OTLP_HEADERS || "");
  if (ingestKey) headers.Authorization = `Bearer ${ingestKey}`;
  const mode = (options.redactionMode || env.TRACEFOUNDRY_REDACTION_MODE || "standard").trim().toLowerCase();
  if (!isRedactionMode(mode)) {
    throw new ConfigurationError(`redaction mode ${JSON.stringify(mode)} is not one of ${REDACTION_MODES.join(", ")}`);
  }
  const compression = (env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION || env.OTEL_EXPORTER_OTLP_COMPRESSION || "gzip")
    .trim()
    .toLowerCase();
  if (compression !== "gzip" && compression !== "none") {
    throw new ConfigurationError(`OTLP compression ${JSON.stringify(compression)} is not one of gzip, none`);
  }
  return {
    serviceName: options.serviceName || env.OTEL_SERVICE_NAME || undefined,
    environment: options.environment || env.TRACEFOUNDRY_ENVIRONMENT || undefined,
    url,
    otlpEndpoint: otlpEndpoint(options, env, url),
    ingestKey,
    headers,
    compression,
    redactionMode: mode,
    capturePayloads: flag(options.capturePayloads, env.TRACEFOUNDRY_CAPTURE_PAYLOADS, true),
    payloadDir: options.payloadDir || env.TRACEFOUNDRY_PAYLOAD_DIR || undefined,
    policyFile: options.policyFile || env.TRACEFOUNDRY_REDACTION_POLICY || undefined,
    payloadsUrl: `${url}/api/payloads`,
  };
}

export function isRedactionMode(value: string): value is RedactionMode {
  return (REDACTION_MODES as readonly string[]).includes(value);
}

function otlpEndpoint(options: SettingsOptions, env: Environment, url: string): string {
  if (options.otlpEndpoint) return options.otlpEndpoint;
  // An explicit server URL beats the generic OTEL_* variables: the caller named this server.
  if (options.url) return `${url}/otlp/v1/traces`;
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces`;
  return `${url}/otlp/v1/traces`;
}

/** `key1=value1,key2=value2`, values URL-encoded, as the OTLP exporter specification defines. */
export function parseHeaders(raw: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const item of raw.split(",")) {
    const separator = item.indexOf("=");
    if (separator < 0) continue;
    const name = item.slice(0, separator).trim();
    if (name) headers[decodeURIComponent(name)] = decodeURIComponent(item.slice(separator + 1).trim());
  }
  return headers;
}

function flag(explicit: boolean | undefined, raw: string | undefined, fallback: boolean): boolean {
  if (explicit !== undefined) return explicit;
  if (raw === undefined || !raw.trim()) return fallback;
  const value = raw.trim().toLowerCase();
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw new ConfigurationError(`expected a boolean, got ${JSON.stringify(raw)}`);
}

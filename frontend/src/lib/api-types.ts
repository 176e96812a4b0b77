/**
 * Types of the TraceFoundry HTTP API, written by hand from the API contract (docs: README "## Explorer").
 * `pnpm api-types` generates `api-schema.d.ts` from the committed OpenAPI schema once it describes every
 * endpoint; these hand-written types are the ones the explorer compiles against until then.
 */

export type Role = "viewer" | "engineer" | "admin";

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface TraceSummary {
  trace_id: string;
  root_span_id: string;
  root_span_name: string;
  service: string;
  environment: string;
  status: "ok" | "error";
  start_time: string;
  end_time: string;
  start_unix_nano: string;
  end_unix_nano: string;
  duration_ms: number;
  span_count: number;
  error_count: number;
  llm_call_count: number;
  tool_call_count: number;
  retry_count: number;
  timeout_count: number;
  orphan_count: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost_usd: string;
  models: string[];
  tools: string[];
  source: "otlp" | "bundle_import";
  ingested_at: string;
}

export type SpanCategory = "agent" | "llm" | "tool" | "retriever" | "embedding" | "chain" | "other";
export type SpanStatus = "unset" | "ok" | "error";

export interface PayloadRef {
  ref: string;
  role: string;
  attribute: string;
  size_bytes: number | null;
  content_type: string;
  sha256: string;
}

export interface SpanItem {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  depth: number;
  is_orphan: boolean;
  name: string;
  kind: number;
  category: SpanCategory;
  service: string;
  start_time: string;
  start_unix_nano: string;
  end_unix_nano: string;
  offset_ms: number;
  duration_ms: number;
  status_code: SpanStatus;
  status_message: string;
  operation_name: string;
  model: string;
  provider: string;
  tool_name: string;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost_usd: string | null;
  retry_count: number;
  is_timeout: boolean;
  event_count: number;
  payload_refs: PayloadRef[];
}

export type Attributes = Record<string, unknown>;

export interface SpanEvent {
  name: string;
  time_unix_nano: string;
  time: string;
  attributes: Attributes;
}

export interface SpanLink {
  trace_id: string;
  span_id: string;
  trace_state: string;
  attributes: Attributes;
}

export interface SpanDetail extends SpanItem {
  attributes: Attributes;
  resource_attributes: Attributes;
  events: SpanEvent[];
  links: SpanLink[];
  scope: { name: string; version: string; attributes: Attributes };
  trace_state: string;
}

export interface TraceDetail {
  trace: TraceSummary;
  root_span: SpanItem | null;
  services: { service: string; span_count: number; error_count: number }[];
  models: {
    model: string;
    provider: string;
    call_count: number;
    input_tokens: number;
    output_tokens: number;
    total_tokens: number;
    cost_usd: string;
  }[];
}

export interface Facets {
  services: string[];
  environments: string[];
  models: string[];
  tools: string[];
}

export interface Permissions {
  read_payload_content: boolean;
  export_with_payloads: boolean;
  export_unredacted: boolean;
  import_bundles: boolean;
  dry_replay: boolean;
  admin_site: boolean;
}

export interface Me {
  username: string;
  role: Role | null;
  is_superuser: boolean;
  permissions: Permissions;
}

export interface PayloadContent {
  ref: string;
  sha256: string;
  content_type: string;
  size_bytes: number;
  redaction_mode: string;
  content: string;
}

export type RedactionMode = "strict" | "standard" | "off";

export interface ImportResult {
  trace_id: string;
  span_count: number;
  payload_count: number;
  created: boolean;
  [extra: string]: unknown;
}

export interface DryReplayCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DryReplayReport {
  ok: boolean;
  checks: DryReplayCheck[];
  [extra: string]: unknown;
}

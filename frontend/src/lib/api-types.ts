/**
 * Types of the TraceFoundry HTTP API, named for the explorer. Every shape comes from `api-schema.d.ts`, which
 * `pnpm api-types` (run by `make openapi`) generates from the committed OpenAPI schema `openapi.yaml`;
 * a test fails when either file drifts from the server (tracefoundry_site/tests/test_openapi_schema.py).
 * Components import API types from here and declare none of their own.
 */

import type { components } from "./api-schema";

type Schemas = components["schemas"];

/**
 * A response as the server sends it. DRF writes every declared field, but the schema marks fields with a
 * model default as optional (they are optional in requests), so responses drop that `?`, at every depth.
 */
type Sent<T> = T extends (infer Item)[] ? Sent<Item>[] : T extends object ? { [K in keyof T]-?: Sent<T[K]> } : T;

export type Role = Schemas["RoleEnum"];
export type RedactionMode = Schemas["RedactionEnum"];
export type SpanCategory = Schemas["CategoryEnum"];
export type SpanStatus = Schemas["StatusCodeEnum"];
export type PayloadStatus = Schemas["PayloadRefStatusEnum"];

export type TraceSummary = Sent<Schemas["TraceSummary"]>;
export type TracePage = Sent<Schemas["TraceList"]>;
export type TraceDetail = Sent<Schemas["TraceDetail"]>;
export type Facets = Sent<Schemas["Facets"]>;

export type PayloadRef = Sent<Schemas["PayloadRef"]>;
export type PayloadContent = Sent<Schemas["PayloadContent"]>;
export type SpanItem = Sent<Schemas["SpanItem"]>;
export type SpanPage = Sent<Schemas["SpanList"]>;
export type SpanEvent = Sent<Schemas["SpanEvent"]>;
export type Attributes = SpanEvent["attributes"];

/** The span's stored OTLP values as decoded at ingest (traces/otlp.py); the schema leaves these JSON fields
 * untyped (`{}`), so their shape is stated here. */
export interface SpanLink {
  trace_id: string;
  span_id: string;
  trace_state: string;
  attributes: Attributes;
}
export interface SpanScope {
  name: string;
  version: string;
  attributes: Attributes;
}
export type SpanDetail = Omit<Sent<Schemas["SpanDetail"]>, "attributes" | "resource_attributes" | "links" | "scope"> & {
  attributes: Attributes;
  resource_attributes: Attributes;
  links: SpanLink[];
  scope: SpanScope;
};

export type Permissions = Sent<Schemas["MePermissions"]>;
export type Me = Sent<Schemas["Me"]>;

export type ExportRequest = Schemas["ExportRequest"];
export type ImportResult = Sent<Schemas["ImportResult"]>;
/** 409 from `POST /api/bundles/import`: the trace id is stored with other content. */
export type ImportConflict = Sent<Schemas["ImportConflict"]>;
export type DryReplayCheck = Sent<Schemas["ReplayCheck"]>;
export type DryReplayReport = Sent<Schemas["ReplayReport"]>;

/** A retry, timeout or exception event, drawn on its span's bar at `offset_ms` from the span's start. */
export type SpanMark = Sent<Schemas["SpanMark"]>;
/** Why the trace was slow: `GET /api/traces/{id}` → `critical_path`. Offsets are from the trace's start. */
export type CriticalPath = Sent<Schemas["CriticalPath"]>;
/** `GET /api/traces/{id}/search?q=` */
export type SpanSearchResult = Sent<Schemas["SpanSearch"]>;

/** `GET /api/traces/compare?a=&b=`; `payload_diffs` only for roles that may read payloads. */
export type CompareStep = Sent<Schemas["CompareStep"]>;
export type StepDelta = Sent<Schemas["StepDelta"]>;
export type MessageDiff = Sent<Schemas["MessageDiff"]>;
export type PayloadDiff = Sent<Schemas["PayloadDiff"]>;
export type CompareRow = Omit<Sent<Schemas["CompareRow"]>, "payload_diffs"> & { payload_diffs?: PayloadDiff[] };
export type RunTotals = Sent<Schemas["RunTotals"]>;
export type Comparison = Omit<Sent<Schemas["Compare"]>, "rows"> & { rows: CompareRow[] };

export type TraceCount = Sent<Schemas["TraceCount"]>;
export type SessionSummary = Sent<Schemas["SessionSummary"]>;
export type SessionPage = Sent<Schemas["SessionList"]>;
export type SessionTurn = Sent<Schemas["SessionTurn"]>;
export type SessionDetail = Sent<Schemas["SessionDetail"]>;

export type Metrics = Sent<Schemas["Metrics"]>;
export type MetricsPoint = Sent<Schemas["MetricsPoint"]>;
export type ToolMetrics = Sent<Schemas["ToolMetrics"]>;
export type ModelMetrics = Sent<Schemas["ModelMetrics"]>;
/** What `/api/metrics` groups by (`group_by`); empty: not grouped. */
export type MetricsGroup = "" | "service" | "model" | "tool";

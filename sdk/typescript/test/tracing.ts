/** Set up the SDK for a test: spans into OpenTelemetry's in-memory exporter, payloads into a temp dir. */

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";

import { init, shutdown, type Client, type InitOptions } from "../src/index.js";

export interface TestTracing {
  client: Client;
  exporter: InMemorySpanExporter;
  payloadDir: string;
  spans(): ReadableSpan[];
  span(name: string): ReadableSpan;
  payload(ref: string): string;
  close(): Promise<void>;
}

export function testTracing(options: InitOptions = {}): TestTracing {
  const exporter = new InMemorySpanExporter();
  const payloadDir = mkdtempSync(join(tmpdir(), "tracefoundry-payloads-"));
  const client = init({
    serviceName: "ts-sdk-tests",
    environment: "test",
    spanExporter: exporter,
    batch: false,
    payloadDir,
    env: {},
    ...options,
  });
  return {
    client,
    exporter,
    payloadDir,
    spans: () => exporter.getFinishedSpans(),
    span(name) {
      const found = exporter.getFinishedSpans().filter((span) => span.name === name);
      if (found.length !== 1) throw new Error(`expected one span named ${name}, found ${found.length}`);
      return found[0] as ReadableSpan;
    },
    payload: (ref) => readFileSync(join(payloadDir, ref.replace(/^sha256:/, "")), "utf-8"),
    close: () => shutdown(),
  };
}

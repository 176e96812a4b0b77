/** Settings resolution: options, then TRACEFOUNDRY_* variables, then OTEL_* variables, then defaults. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ConfigurationError, resolveSettings } from "../src/index.js";

describe("resolveSettings", () => {
  it("defaults to the local server with gzip and standard redaction", () => {
    const settings = resolveSettings({ env: {} });
    assert.equal(settings.otlpEndpoint, "http://127.0.0.1:8000/otlp/v1/traces");
    assert.equal(settings.payloadsUrl, "http://127.0.0.1:8000/api/payloads");
    assert.equal(settings.compression, "gzip");
    assert.equal(settings.redactionMode, "standard");
    assert.equal(settings.capturePayloads, true);
  });

  it("reads TRACEFOUNDRY_URL, the ingest key and the service name from the environment", () => {
    const settings = resolveSettings({
      env: {
        TRACEFOUNDRY_URL: "https://traces.example.com/",
        TRACEFOUNDRY_INGEST_KEY: "tfk_123",
        OTEL_SERVICE_NAME: "checkout-agent",
        TRACEFOUNDRY_ENVIRONMENT: "staging",
        OTEL_EXPORTER_OTLP_HEADERS: "x-team=ml%20ops",
      },
    });
    assert.equal(settings.otlpEndpoint, "https://traces.example.com/otlp/v1/traces");
    assert.deepEqual(settings.headers, { "x-team": "ml ops", Authorization: "Bearer tfk_123" });
    assert.equal(settings.serviceName, "checkout-agent");
    assert.equal(settings.environment, "staging");
  });

  it("lets the OTEL endpoint variables point spans at a collector", () => {
    assert.equal(
      resolveSettings({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" } }).otlpEndpoint,
      "http://collector:4318/v1/traces",
    );
    assert.equal(
      resolveSettings({ env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/custom" } }).otlpEndpoint,
      "http://collector:4318/custom",
    );
    assert.equal(
      resolveSettings({ url: "http://tf:8000", env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" } }).otlpEndpoint,
      "http://tf:8000/otlp/v1/traces",
    );
  });

  it("refuses an unknown redaction mode or flag value", () => {
    assert.throws(() => resolveSettings({ env: { TRACEFOUNDRY_REDACTION_MODE: "paranoid" } }), ConfigurationError);
    assert.throws(() => resolveSettings({ env: { TRACEFOUNDRY_CAPTURE_PAYLOADS: "maybe" } }), ConfigurationError);
  });
});

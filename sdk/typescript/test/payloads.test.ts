/** Payload capture: redaction before hashing and upload, the upload request, retries and ref checks. */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";

import { buildRedactor, PayloadCapture, PayloadUploader, serialize, sha256Ref } from "../src/index.js";
import { listen } from "./servers.js";

const SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";

function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

describe("serialize", () => {
  it("keeps text as text and writes objects as compact JSON in key order", () => {
    assert.deepEqual(serialize("héllo"), { text: "héllo", contentType: "text/plain; charset=utf-8" });
    assert.deepEqual(serialize([{ role: "user", content: "é" }]), { text: '[{"role":"user","content":"é"}]', contentType: "application/json" });
    assert.deepEqual(serialize(42), { text: "42", contentType: "text/plain; charset=utf-8" });
  });

  it("hashes bytes as sha256:<hex>", () => {
    const { ref, sha256: hex } = sha256Ref(new TextEncoder().encode("abc"));
    assert.equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.equal(ref, `sha256:${hex}`);
  });
});

describe("upload to POST /api/payloads", () => {
  it("redacts before hashing and uploading, with the ingest key and the redaction mode", async () => {
    const server = await listen((request, response) => {
      const hex = sha256(request.body);
      response.writeHead(201, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ ref: `sha256:${hex}`, sha256: hex, size_bytes: request.body.length }));
    });
    const uploader = new PayloadUploader(`${server.url}/api/payloads`, "tfk_test", { redactionMode: "standard" });
    const capture = new PayloadCapture(buildRedactor("standard"), { capture: true, uploader });
    const payload = capture.record({ messages: [{ role: "user", content: `use ${SECRET}` }] });
    assert.equal(await capture.flush(5_000), true);
    await server.close();

    const expectedBody = '{"messages":[{"role":"user","content":"use [REDACTED:openai_api_key]"}]}';
    assert.deepEqual(payload, {
      ref: `sha256:${sha256(expectedBody)}`,
      sha256: sha256(expectedBody),
      sizeBytes: Buffer.byteLength(expectedBody),
      contentType: "application/json",
      redacted: true,
      stored: true,
    });
    const [request] = server.requests;
    assert.equal(server.requests.length, 1);
    assert.equal(request?.method, "POST");
    assert.equal(request?.path, "/api/payloads");
    assert.equal(request?.headers.authorization, "Bearer tfk_test");
    assert.equal(request?.headers["x-tracefoundry-redaction"], "standard");
    assert.equal(request?.headers["content-type"], "application/json");
    assert.equal(request?.headers["content-length"], String(Buffer.byteLength(expectedBody)));
    assert.equal(request?.body.toString("utf-8"), expectedBody);
    assert.ok(!request?.body.toString("utf-8").includes(SECRET));
    assert.deepEqual(capture.stats, { queued: 1, uploaded: 1, retried: 0, failed: 0, dropped: 0, written: 0, mismatched: 0, pending: 0 });
  });

  it("retries a 503, then counts a ref the server stored differently", async () => {
    let calls = 0;
    const server = await listen((_request, response) => {
      calls += 1;
      if (calls === 1) {
        response.writeHead(503).end();
        return;
      }
      response.writeHead(201, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ ref: `sha256:${"0".repeat(64)}` }));
    });
    const uploader = new PayloadUploader(`${server.url}/api/payloads`, "tfk_test", { redactionMode: "strict", initialBackoffMs: 1 });
    uploader.submit(new TextEncoder().encode("hello"), "text/plain; charset=utf-8", `sha256:${sha256("hello")}`);
    assert.equal(await uploader.flush(5_000), true);
    await server.close();
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[0]?.headers["x-tracefoundry-redaction"], "strict");
    assert.deepEqual(uploader.stats, { queued: 1, uploaded: 1, retried: 1, failed: 0, dropped: 0, written: 0, mismatched: 1, pending: 0 });
  });

  it("gives up on a refused upload without throwing into the caller", async () => {
    const server = await listen((_request, response) => {
      response.writeHead(401).end();
    });
    const uploader = new PayloadUploader(`${server.url}/api/payloads`, "wrong", { redactionMode: "standard" });
    uploader.submit(new TextEncoder().encode("x"), "text/plain; charset=utf-8", `sha256:${sha256("x")}`);
    assert.equal(await uploader.flush(5_000), true);
    await server.close();
    assert.equal(uploader.stats.failed, 1);
    assert.equal(uploader.stats.uploaded, 0);
  });

  it("records hashes only when there is nowhere to store the payload", () => {
    const capture = new PayloadCapture(buildRedactor("standard"), { capture: false });
    const payload = capture.record("plain text");
    assert.equal(payload.stored, false);
    assert.equal(payload.ref, `sha256:${sha256("plain text")}`);
  });
});

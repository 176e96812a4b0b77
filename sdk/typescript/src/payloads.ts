/**
 * Payload capture: serialize, redact, hash, then upload in the background or write to a local directory.
 *
 * The order is fixed, as in the Python SDK: redaction happens before hashing, so the sha256 (and the
 * `sha256:<hex>` ref put on the span) is that of the redacted UTF-8 bytes, the same bytes the server stores
 * and hashes. Nothing here ever throws into the instrumented code: uploads run on one background loop with
 * exponential backoff, then are counted as failed; a full queue drops the upload and counts it. Known limit:
 * a payload whose upload finally fails leaves a ref on its span that the server cannot resolve (the explorer
 * shows it as missing).
 */

import { createHash } from "node:crypto";
import { mkdir, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

import type { RedactionMode } from "./config.js";
import type { Redactor } from "./redaction.js";

export const TEXT = "text/plain; charset=utf-8";
export const JSON_TYPE = "application/json";
// Status codes worth another try: throttling and a server or proxy that is briefly unavailable.
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** What a span records about one payload. */
export interface CapturedPayload {
  ref: string;
  sha256: string;
  sizeBytes: number;
  contentType: string;
  redacted: boolean;
  /** Uploaded (or queued for upload) or written to the payload directory. */
  stored: boolean;
}

export interface UploadStats {
  queued: number;
  uploaded: number;
  retried: number;
  failed: number;
  dropped: number;
  written: number;
  mismatched: number;
  pending: number;
}

/** Text stays text; anything else becomes compact JSON (key order kept: message order matters). */
export function serialize(content: unknown): { text: string; contentType: string } {
  if (typeof content === "string") return { text: content, contentType: TEXT };
  if (content instanceof Uint8Array) return { text: new TextDecoder().decode(content), contentType: TEXT };
  const text = JSON.stringify(content, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
  // The server takes application/json only for a JSON array or object; a bare number or `null` is text.
  const isDocument = typeof content === "object" && content !== null;
  return { text: text ?? "null", contentType: isDocument ? JSON_TYPE : TEXT };
}

export function sha256Ref(data: Uint8Array): { ref: string; sha256: string } {
  const sha256 = createHash("sha256").update(data).digest("hex");
  return { ref: `sha256:${sha256}`, sha256 };
}

export interface UploaderOptions {
  redactionMode: RedactionMode;
  maxQueue?: number;
  maxAttempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  timeoutMs?: number;
  /** The fetch used for uploads; never the instrumented one, so uploads make no spans. */
  fetch?: typeof fetch;
}

interface QueuedUpload {
  data: Uint8Array;
  contentType: string;
  ref: string;
}

/** One asynchronous loop draining a bounded queue into `POST /api/payloads`. */
export class PayloadUploader {
  private readonly queue: QueuedUpload[] = [];
  private readonly headers: Record<string, string>;
  private readonly maxQueue: number;
  private readonly maxAttempts: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly counts: Omit<UploadStats, "pending"> = {
    queued: 0,
    uploaded: 0,
    retried: 0,
    failed: 0,
    dropped: 0,
    written: 0,
    mismatched: 0,
  };
  private draining: Promise<void> | undefined;
  private inFlight = 0;
  private stopping = false;

  constructor(
    private readonly url: string,
    ingestKey: string,
    options: UploaderOptions,
  ) {
    this.headers = { Authorization: `Bearer ${ingestKey}`, "X-TraceFoundry-Redaction": options.redactionMode };
    this.maxQueue = options.maxQueue ?? 1000;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.initialBackoffMs = options.initialBackoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  get stats(): UploadStats {
    return { ...this.counts, pending: this.queue.length + this.inFlight };
  }

  submit(data: Uint8Array, contentType: string, ref: string): boolean {
    if (this.stopping || this.queue.length >= this.maxQueue) {
      if (!this.stopping) console.warn(`tracefoundry: payload upload queue full; dropping ${ref}`);
      this.counts.dropped += 1;
      return false;
    }
    this.queue.push({ data, contentType, ref });
    this.counts.queued += 1;
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
    return true;
  }

  /** Wait until every queued upload has succeeded or given up; false on timeout. */
  async flush(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.draining) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), remaining);
      });
      const expired = await Promise.race([this.draining.then(() => false), timedOut]);
      clearTimeout(timer);
      if (expired) return false;
    }
    return true;
  }

  async close(timeoutMs = 30_000): Promise<void> {
    await this.flush(timeoutMs);
    this.stopping = true;
  }

  private async drain(): Promise<void> {
    let item = this.queue.shift();
    while (item) {
      this.inFlight += 1;
      try {
        await this.upload(item);
      } catch (error) {
        // The loop must survive anything an upload does.
        console.error("tracefoundry: payload upload crashed", error);
        this.counts.failed += 1;
      } finally {
        this.inFlight -= 1;
      }
      item = this.queue.shift();
    }
  }

  private async upload(item: QueuedUpload): Promise<void> {
    let backoff = this.initialBackoffMs;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const outcome = await this.attempt(item);
      if (outcome !== "retry") return;
      if (attempt === this.maxAttempts || this.stopping) break;
      this.counts.retried += 1;
      await sleep(backoff);
      backoff = Math.min(backoff * 2, this.maxBackoffMs);
    }
    console.warn(`tracefoundry: payload ${item.ref} not uploaded after ${this.maxAttempts} attempts`);
    this.counts.failed += 1;
  }

  private async attempt(item: QueuedUpload): Promise<"retry" | "refused" | "done"> {
    let response: Response;
    try {
      response = await this.fetchImpl(this.url, {
        method: "POST",
        body: item.data,
        headers: { ...this.headers, "Content-Type": item.contentType },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      console.info(`tracefoundry: payload upload failed (${(error as Error).name}); will retry`);
      return "retry";
    }
    const body = await response.text();
    if (RETRYABLE_STATUS.has(response.status)) return "retry";
    if (response.status >= 400) {
      console.warn(`tracefoundry: payload upload refused: HTTP ${response.status}`);
      this.counts.failed += 1;
      return "refused";
    }
    this.counts.uploaded += 1;
    const stored = refOf(body);
    if (stored !== item.ref) {
      // The server's policy differs from ours; its ref is the one it can resolve.
      console.warn(`tracefoundry: server stored payload under ${stored}, the span says ${item.ref}`);
      this.counts.mismatched += 1;
    }
    return "done";
  }
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function refOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { ref?: unknown };
    return typeof parsed.ref === "string" ? parsed.ref : "";
  } catch {
    return "";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface PayloadCaptureOptions {
  capture: boolean;
  uploader?: PayloadUploader;
  payloadDir?: string;
}

/** Turns a prompt, completion or tool argument into a `CapturedPayload`, storing it when configured. */
export class PayloadCapture {
  readonly capture: boolean;
  private readonly uploader: PayloadUploader | undefined;
  private readonly payloadDir: string | undefined;
  private readonly writes = new Set<Promise<void>>();
  private written = 0;
  private writeFailures = 0;

  constructor(
    readonly redactor: Redactor,
    options: PayloadCaptureOptions,
  ) {
    this.capture = options.capture;
    this.uploader = options.uploader;
    this.payloadDir = options.payloadDir;
  }

  get stores(): boolean {
    return this.capture && (this.uploader !== undefined || this.payloadDir !== undefined);
  }

  get stats(): UploadStats {
    const base = this.uploader?.stats ?? {
      queued: 0,
      uploaded: 0,
      retried: 0,
      failed: 0,
      dropped: 0,
      written: 0,
      mismatched: 0,
      pending: 0,
    };
    return { ...base, written: this.written, failed: base.failed + this.writeFailures };
  }

  record(content: unknown): CapturedPayload {
    const serialized = serialize(content);
    const { text: redactedText, redacted } = this.redactor.redact(serialized.text);
    // A mask that swallowed a quote (an unterminated private key block) leaves JSON that no longer parses:
    // such a payload is stored as text, as the server would refuse it as JSON.
    const contentType = redacted && serialized.contentType === JSON_TYPE && !parses(redactedText) ? TEXT : serialized.contentType;
    const data = new TextEncoder().encode(redactedText);
    const { ref, sha256 } = sha256Ref(data);
    const stored = this.stores ? this.store(data, contentType, ref, sha256) : false;
    return { ref, sha256, sizeBytes: data.byteLength, contentType, redacted, stored };
  }

  async flush(timeoutMs = 30_000): Promise<boolean> {
    await Promise.all([...this.writes]);
    return this.uploader ? this.uploader.flush(timeoutMs) : true;
  }

  async close(timeoutMs = 30_000): Promise<void> {
    await Promise.all([...this.writes]);
    await this.uploader?.close(timeoutMs);
  }

  private store(data: Uint8Array, contentType: string, ref: string, sha256: string): boolean {
    if (this.payloadDir !== undefined) {
      const write = writePayloadFile(this.payloadDir, sha256, data, contentType, this.redactor.mode).then(
        () => {
          this.written += 1;
        },
        (error: unknown) => {
          console.error(`tracefoundry: could not write payload ${ref} to ${this.payloadDir}`, error);
          this.writeFailures += 1;
        },
      );
      this.writes.add(write);
      void write.finally(() => this.writes.delete(write));
      return true;
    }
    return this.uploader ? this.uploader.submit(data, contentType, ref) : false;
  }
}

/** `<dir>/<sha256>` holds the redacted bytes, `<sha256>.json` says what they are (written atomically). */
async function writePayloadFile(
  directory: string,
  sha256: string,
  data: Uint8Array,
  contentType: string,
  mode: RedactionMode,
): Promise<void> {
  await mkdir(directory, { recursive: true });
  const meta = { sha256, content_type: contentType, size_bytes: data.byteLength, redaction_mode: mode };
  const files: [string, Uint8Array | string][] = [
    [sha256, data],
    [`${sha256}.json`, JSON.stringify(meta, null, 1)],
  ];
  for (const [name, body] of files) {
    const target = join(directory, name);
    if (await exists(target)) continue;
    const temporary = join(directory, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
    await writeFile(temporary, body);
    await rename(temporary, target);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

"""Payload capture: serialize, redact, hash, then upload in the background or write to a local directory.

The order is fixed: redaction happens before hashing, so the sha256 (and the `sha256:<hex>` ref put on the
span) is that of the redacted bytes, the same bytes the server stores and hashes. Nothing here ever raises
into the instrumented code: upload failures are retried by one background thread with exponential backoff,
then counted; a full queue drops the upload and counts it. Known limit: a payload whose upload finally fails
leaves a ref on its span that the server cannot resolve (the explorer shows it as missing).
Uploads of content seen recently are skipped (content-addressed: same bytes, same ref).
"""

import hashlib
import json
import logging
import os
import queue
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import requests

from tracefoundry.redaction import Redactor

logger = logging.getLogger("tracefoundry.payloads")

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
# Status codes worth another try: throttling and a server or proxy that is briefly unavailable.
_RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class CapturedPayload:
    """What a span records about one payload."""

    ref: str
    sha256: str
    size_bytes: int
    content_type: str
    redacted: bool
    stored: bool  # uploaded (or queued for upload) or written to the payload directory


@dataclass(frozen=True)
class UploadStats:
    queued: int = 0
    uploaded: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0
    written: int = 0
    mismatched: int = 0
    pending: int = 0


def serialize(content: Any) -> tuple[str, str]:
    """Text stays text; anything else becomes compact JSON (key order kept: message order matters)."""
    if isinstance(content, str):
        return content, TEXT
    if isinstance(content, bytes):
        return content.decode("utf-8", errors="replace"), TEXT
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=str)
    # The server labels only arrays and objects JSON: a bare number, string or null travels as text.
    return text, JSON if isinstance(content, dict | list | tuple) else TEXT


def sha256_ref(data: bytes) -> tuple[str, str]:
    digest = hashlib.sha256(data).hexdigest()
    return f"sha256:{digest}", digest


class PayloadUploader:
    """A few daemon threads draining a bounded queue into `POST /api/payloads`.

    Tracks which refs are still pending, so span export can wait for exactly the payloads its spans name
    (`wait_for`), and skips content it uploaded recently (same ref, same bytes).
    """

    def __init__(
        self,
        url: str,
        ingest_key: str,
        *,
        redaction_mode: str,
        max_queue: int = 1000,
        workers: int = 4,
        max_attempts: int = 5,
        initial_backoff_s: float = 0.5,
        max_backoff_s: float = 10.0,
        timeout_s: float = 10.0,
        remember: int = 10_000,
    ) -> None:
        self._url = url
        self._headers = {"Authorization": f"Bearer {ingest_key}", "X-TraceFoundry-Redaction": redaction_mode}
        self._queue: queue.Queue[tuple[bytes, str, str]] = queue.Queue(maxsize=max_queue)
        self._max_attempts = max_attempts
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._timeout_s = timeout_s
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self._pending: dict[str, int] = {}
        self._uploaded: dict[str, None] = {}  # insertion-ordered: the oldest is forgotten first
        self._remember = remember
        self._stats = UploadStats()
        self._local = threading.local()
        self._threads = [
            threading.Thread(target=self._run, name=f"tracefoundry-payload-uploader-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def stats(self) -> UploadStats:
        with self._changed:
            return replace(self._stats, pending=sum(self._pending.values()))

    def submit(self, data: bytes, content_type: str, ref: str) -> bool:
        with self._changed:
            if ref in self._uploaded or ref in self._pending:
                return True
            if self._stopping.is_set():
                self._stats = replace(self._stats, dropped=self._stats.dropped + 1)
                return False
            try:
                self._queue.put_nowait((data, content_type, ref))
            except queue.Full:
                logger.warning("payload upload queue full; dropping %s", ref)
                self._stats = replace(self._stats, dropped=self._stats.dropped + 1)
                return False
            self._pending[ref] = self._pending.get(ref, 0) + 1
            self._stats = replace(self._stats, queued=self._stats.queued + 1)
        return True

    def wait_for(self, refs: set[str], timeout_s: float) -> bool:
        """Wait until none of `refs` is still queued or uploading; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not any(ref in self._pending for ref in refs), timeout_s)

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until every queued upload has succeeded or given up; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending, timeout_s)

    def close(self, timeout_s: float = 30.0) -> None:
        self.flush(timeout_s)
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=1.0)

    def _run(self) -> None:
        session = requests.Session()
        while not (self._stopping.is_set() and self._queue.empty()):
            try:
                data, content_type, ref = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            uploaded = False
            try:
                uploaded = self._upload(session, data, content_type, ref)
            except Exception:  # an uploader thread must survive anything
                logger.exception("payload upload crashed")
                self._count(failed=1)
            finally:
                self._done(ref, uploaded)
                self._queue.task_done()
        session.close()

    def _done(self, ref: str, uploaded: bool) -> None:
        with self._changed:
            remaining = self._pending.get(ref, 1) - 1
            if remaining > 0:
                self._pending[ref] = remaining
            else:
                self._pending.pop(ref, None)
            if uploaded:
                self._uploaded[ref] = None
                if len(self._uploaded) > self._remember:
                    del self._uploaded[next(iter(self._uploaded))]
            self._changed.notify_all()

    def _upload(self, session: requests.Session, data: bytes, content_type: str, ref: str) -> bool:
        backoff = self._initial_backoff_s
        for attempt in range(1, self._max_attempts + 1):
            outcome = self._attempt(session, data, content_type, ref)
            if outcome != "retry":
                return outcome == "done"
            if attempt == self._max_attempts or self._stopping.is_set():
                break
            self._count(retried=1)
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, self._max_backoff_s)
        logger.warning("payload %s not uploaded after %d attempts", ref, self._max_attempts)
        self._count(failed=1)
        return False

    def _attempt(self, session: requests.Session, data: bytes, content_type: str, ref: str) -> str:
        try:
            response = session.post(
                self._url,
                data=data,
                headers={**self._headers, "Content-Type": content_type},
                timeout=self._timeout_s,
            )
        except requests.RequestException as exc:
            logger.info("payload upload failed (%s); will retry", type(exc).__name__)
            return "retry"
        if response.status_code in _RETRYABLE_STATUS:
            return "retry"
        if response.status_code >= 400:
            logger.warning("payload upload refused: HTTP %s", response.status_code)
            self._count(failed=1)
            return "refused"
        self._count(uploaded=1)
        if _ref_of(response) != ref:
            # The server's policy differs from ours; its ref is the one it can resolve.
            logger.warning("server stored payload under %s, the span says %s", _ref_of(response), ref)
            self._count(mismatched=1)
        return "done"

    def _count(self, **increments: int) -> None:
        with self._changed:
            self._stats = replace(
                self._stats,
                **{name: getattr(self._stats, name) + value for name, value in increments.items()},
            )


def _ref_of(response: requests.Response) -> str:
    try:
        return str(response.json().get("ref", ""))
    except ValueError:
        return ""


class PayloadCapture:
    """Turns a prompt, completion or tool argument into a `CapturedPayload`, storing it when configured."""

    def __init__(
        self,
        redactor: Redactor,
        *,
        capture: bool,
        uploader: PayloadUploader | None = None,
        payload_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.redactor = redactor
        self.capture = capture
        self._uploader = uploader
        self._payload_dir = Path(payload_dir) if payload_dir else None
        self._written = 0
        self._write_failures = 0

    @property
    def stores(self) -> bool:
        return self.capture and (self._uploader is not None or self._payload_dir is not None)

    @property
    def stats(self) -> UploadStats:
        base = self._uploader.stats if self._uploader else UploadStats()
        return replace(base, written=self._written, failed=base.failed + self._write_failures)

    def record(self, content: Any) -> CapturedPayload:
        text, content_type = serialize(content)
        redacted_text, redacted = self.redactor.redact(text)
        data = redacted_text.encode("utf-8", "replace")
        ref, digest = sha256_ref(data)
        stored = False
        if self.stores:
            stored = self._store(data, content_type, ref, digest)
        return CapturedPayload(ref, digest, len(data), content_type, redacted, stored)

    def flush(self, timeout_s: float = 30.0) -> bool:
        return self._uploader.flush(timeout_s) if self._uploader else True

    def wait_for(self, refs: set[str], timeout_s: float) -> bool:
        return self._uploader.wait_for(refs, timeout_s) if self._uploader else True

    def close(self, timeout_s: float = 30.0) -> None:
        if self._uploader:
            self._uploader.close(timeout_s)

    def _store(self, data: bytes, content_type: str, ref: str, digest: str) -> bool:
        if self._payload_dir is not None:
            try:
                _write_payload_file(self._payload_dir, digest, data, content_type, self.redactor.mode)
            except OSError:
                logger.exception("could not write payload %s to %s", ref, self._payload_dir)
                self._write_failures += 1
                return False
            self._written += 1
            return True
        assert self._uploader is not None  # `stores` guarantees one of the two
        return self._uploader.submit(data, content_type, ref)


def _write_payload_file(directory: Path, digest: str, data: bytes, content_type: str, mode: str) -> None:
    """`<dir>/<sha256>` holds the redacted bytes, `<sha256>.json` says what they are (written atomically)."""
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"sha256": digest, "content_type": content_type, "size_bytes": len(data), "redaction_mode": mode}
    for name, body in ((digest, data), (f"{digest}.json", json.dumps(meta, indent=1).encode())):
        target = directory / name
        if target.exists():
            continue
        handle, tmp_name = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        with os.fdopen(handle, "wb") as tmp:
            tmp.write(body)
        os.replace(tmp_name, target)

"""A small OpenAI-compatible HTTP server on 127.0.0.1 that the real client libraries talk to in live tests.

Answers `/v1/chat/completions` (plain, streamed, and with tool calls), `/v1/completions` and `/v1/embeddings`
deterministically from the request, so a test knows every text the libraries will put on their spans:
- the prompt carries a marker `prompt-<m>`; the completion is `completion-<m>`;
- when tools are offered and no tool result is in the conversation yet, the answer is a call of the first
  tool with the arguments `{"query": "toolarg-<m>"}`;
- model `error-model` gets a 400 with an OpenAI error body (no retries by the clients).

Usage is fixed: 21 prompt tokens, 7 completion tokens. Run as a script, it prints its base URL
(`http://127.0.0.1:<port>/v1`) on the first line of stdout and serves until terminated.
"""

import json
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROMPT_TOKENS = 21
COMPLETION_TOKENS = 7
ERROR_MODEL = "error-model"
ERROR_MESSAGE = "The model `error-model` does not exist"
# A fixed creation time keeps the recorded goldens stable.
CREATED = 1_767_225_600
_MARKER = re.compile(r"prompt-([A-Za-z0-9]+)")


def _marker(body: Any) -> str:
    found = _MARKER.search(json.dumps(body))
    return found.group(1) if found else "none"


def _usage() -> dict[str, int]:
    return {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    }


def chat_message(body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The assistant message answering a chat request, and its finish reason."""
    marker = _marker(body)
    messages = body.get("messages") or []
    has_tool_result = any(message.get("role") == "tool" for message in messages)
    tools = body.get("tools") or []
    if tools and not has_tool_result:
        name = tools[0]["function"]["name"]
        call = {
            "id": "call_live0001",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps({"query": f"toolarg-{marker}"})},
        }
        return {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
    return {"role": "assistant", "content": f"completion-{marker}"}, "stop"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        path = self.path.split("?", 1)[0].rstrip("/")
        if body.get("model") == ERROR_MODEL:
            error = {"error": {"message": ERROR_MESSAGE, "type": "invalid_request_error", "code": "model_not_found"}}
            self._json(400, error)
        elif path.endswith("/chat/completions"):
            self._chat(body)
        elif path.endswith("/completions"):
            self._completion(body)
        elif path.endswith("/embeddings"):
            self._embeddings(body)
        else:
            self._json(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})

    def _chat(self, body: dict[str, Any]) -> None:
        message, finish = chat_message(body)
        model = f"{body.get('model', 'gpt-4o-mini')}-2024-07-18"
        if body.get("stream"):
            self._stream_chat(body, message, finish, model)
            return
        self._json(
            200,
            {
                "id": "chatcmpl-live",
                "object": "chat.completion",
                "created": CREATED,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                "usage": _usage(),
                "system_fingerprint": "fp_live",
            },
        )

    def _stream_chat(self, body: dict[str, Any], message: dict[str, Any], finish: str, model: str) -> None:
        base = {"id": "chatcmpl-live", "object": "chat.completion.chunk", "created": CREATED, "model": model}
        delta: dict[str, Any] = {"role": "assistant"}
        if message.get("tool_calls"):
            delta["tool_calls"] = [{"index": 0, **call} for call in message["tool_calls"]]
        else:
            delta["content"] = message["content"]
        chunks = [
            {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
        ]
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "choices": [], "usage": _usage()})
        data = b"".join(f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks) + b"data: [DONE]\n\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _completion(self, body: dict[str, Any]) -> None:
        self._json(
            200,
            {
                "id": "cmpl-live",
                "object": "text_completion",
                "created": CREATED,
                "model": body.get("model", "gpt-3.5-turbo-instruct"),
                "choices": [
                    {"index": 0, "text": f"completion-{_marker(body)}", "finish_reason": "stop", "logprobs": None}
                ],
                "usage": _usage(),
            },
        )

    def _embeddings(self, body: dict[str, Any]) -> None:
        inputs = body.get("input")
        count = len(inputs) if isinstance(inputs, list) and inputs and not isinstance(inputs[0], int) else 1
        data = [
            {"object": "embedding", "index": i, "embedding": [round(0.125 * (i + 1) * k, 3) for k in range(8)]}
            for i in range(count)
        ]
        usage = {"prompt_tokens": PROMPT_TOKENS, "total_tokens": PROMPT_TOKENS}
        self._json(200, {"object": "list", "data": data, "model": body.get("model", ""), "usage": usage})

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def serving() -> Iterator[str]:
    """Serve on a free loopback port in a thread; yield the base URL (ending in /v1)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    with serving() as url:
        print(url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            sys.exit(0)

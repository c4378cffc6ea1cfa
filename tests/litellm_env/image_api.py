"""A loopback image API that LiteLLM forwards to, speaking OpenAI's wire format for
POST /v1/images/generations, POST /v1/chat/completions and GET /v1/models (OpenAI API reference:
images answer `{"created", "data": [{"b64_json"}]}`, chat answers `{"choices": [{"message"}]}`,
errors `{"error": {"message", "type", "param", "code"}}`; a bad key is a 401 whose message echoes
the key as "Incorrect API key provided: <key>.").

What it does is chosen by the model name LiteLLM forwards:
  house-image    an image                       house-chat   a chat answer holding a data-URL image
  house-ratelimited  429 rate_limit_exceeded without Retry-After
Any request whose bearer token is not GOOD_KEY gets the 401 that echoes it.
Every request is recorded (path, model, fields, a hash of the key) for the test.
Standard library only, so it runs under any interpreter: `python image_api.py PORT`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD_KEY = "upstream-good-key"


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x80\x00" * 8 for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


PNG_B64 = base64.b64encode(tiny_png()).decode("ascii")
_requests: list[dict] = []
_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": "house-image", "object": "model"}]})
        else:
            self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        key = (self.headers.get("authorization") or "").removeprefix("Bearer ").strip()
        model = str(body.get("model", ""))
        with _lock:
            _requests.append({"path": self.path, "model": model, "fields": sorted(body), "key_ok": key == GOOD_KEY,
                              "key_sha256": hashlib.sha256(key.encode()).hexdigest()})
        if key != GOOD_KEY:
            self._send(401, {"error": {"message": f"Incorrect API key provided: {key}. You can find your API key "
                                                  "at https://platform.openai.com/account/api-keys.",
                                       "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}})
        elif model == "house-ratelimited":
            self._send(429, {"error": {"message": "Rate limit reached for house-ratelimited on requests per min "
                                                  "(RPM): Limit 1, Used 1, Requested 1.",
                                       "type": "requests", "param": None, "code": "rate_limit_exceeded"}})
        elif self.path.endswith("/images/generations"):
            self._send(200, {"created": 1, "data": [{"b64_json": PNG_B64, "revised_prompt": body.get("prompt")}]})
        elif self.path.endswith("/chat/completions"):
            content = f"Here it is:\n\n![image](data:image/png;base64,{PNG_B64})"
            self._send(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": content}}],
                             "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})


def recorded() -> list[dict]:
    with _lock:
        return list(_requests)


def serve(port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()

"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1 for the MaiBot host test.

It plays two parts:
- the host's planner (requests that carry `tools`): when the newest chat message asks for a cat
  picture it calls `tool_search` for draw_picture, then `draw_picture` with fixed arguments, then
  `stop`; for anything else it calls `stop` at once;
- every other model call (our plugin's `llm.generate`, host housekeeping): a request that reads like
  our prompt engine's gets a fixed English image prompt, anything else a short plain reply.

Every request and the answer given are appended to a JSONL log for the test to read.
Stdlib only, so it runs under any interpreter.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PLANNER_TRIGGER = "画一张猫咪的图片"
DRAW_ARGUMENTS = {"description": "一只猫咪", "selfie_mode": False}
IMAGE_PROMPT = "a fluffy orange cat sitting on a sunny windowsill, soft light, detailed fur"
# Words of our prompt engine's default system prompt (prompt/build.py) and of its user message.
PROMPT_ENGINE_MARKERS = ("绘画", "提示词", "image prompt")

_ids = itertools.count(1)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _is_chat_message(message: dict) -> bool:
    # The planner gets each chat message as a user turn `<message msg_id=… user=…>text`; reminders,
    # the clock and the instruction follow as further user turns.
    return message.get("role") == "user" and _text_of(message.get("content")).lstrip().startswith("<message")


def plan(messages: list[dict]) -> tuple[str, dict]:
    """The planner's next tool call (name, arguments), from the turns after the newest chat message."""
    newest = max((i for i, m in enumerate(messages) if _is_chat_message(m)), default=None)
    if newest is None or PLANNER_TRIGGER not in _text_of(messages[newest].get("content")):
        return "stop", {}
    called = [(call.get("function") or {}).get("name", "")
              for m in messages[newest + 1:] if m.get("role") == "assistant" for call in m.get("tool_calls") or []]
    if "tool_search" not in called:
        return "tool_search", {"query": "draw_picture"}
    if "draw_picture" not in called:
        return "draw_picture", dict(DRAW_ARGUMENTS)
    return "stop", {}


def answer_for(body: dict) -> dict:
    """The assistant message for one chat-completions request."""
    messages = body.get("messages") or []
    if body.get("tools"):
        tool, arguments = plan(messages)
        call = {"id": f"call_{next(_ids)}", "type": "function",
                "function": {"name": tool, "arguments": json.dumps(arguments, ensure_ascii=False)}}
        return {"role": "assistant", "content": "", "tool_calls": [call]}
    text = "\n".join(_text_of(m.get("content")) for m in messages)
    if any(marker in text for marker in PROMPT_ENGINE_MARKERS):
        content = json.dumps({"prompt": IMAGE_PROMPT, "negative_prompt": "", "aspect": "1:1", "selfie": False})
    else:
        content = "好的"
    return {"role": "assistant", "content": content}


class ScriptedLLM:
    """Serve on 127.0.0.1:<free port> in a daemon thread; `log` collects one JSON line per request."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, name="scripted-llm", daemon=True)

    def start(self) -> "ScriptedLLM":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _record(self, entry: dict) -> None:
        with self._lock, open(self.log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output quiet
                pass

            def _send_json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path.rstrip("/").endswith("/models"):
                    self._send_json(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})
                else:
                    self._send_json(404, {"error": {"message": "not found"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._send_json(400, {"error": {"message": "bad json"}})
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    outer._record({"path": self.path, "unsupported": True})
                    self._send_json(404, {"error": {"message": f"unsupported path {self.path}"}})
                    return
                message = answer_for(body)
                outer._record({"time": time.time(), "path": self.path, "request": body, "answer": message})
                completion_id = f"chatcmpl-{next(_ids)}"
                finish = "tool_calls" if message.get("tool_calls") else "stop"
                usage = {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
                if body.get("stream"):
                    self._stream(completion_id, body, message, finish, usage)
                    return
                self._send_json(200, {
                    "id": completion_id, "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "scripted"),
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": usage,
                })

            def _stream(self, completion_id, body, message, finish, usage):
                delta = {"role": "assistant", "content": message.get("content") or ""}
                if message.get("tool_calls"):
                    delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
                base = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": body.get("model", "scripted")}
                chunks = [
                    {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
                    {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}], "usage": usage},
                ]
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for chunk in chunks:
                    self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        return Handler

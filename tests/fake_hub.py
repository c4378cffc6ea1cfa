"""A loopback fake of the Hugging Face Hub API, for the real huggingface_hub 2.x client.

Only what `space deploy | status | quota` call, shaped after huggingface_hub 2.4.0's own reading of the
answers (hf_api.py: whoami 2219, create_repo 4577, _validate_yaml 11679, space_info 3360 / SpaceInfo 1228,
get_space_runtime 8240, add_space_variable 8170, add_space_secret 8044, fetch_space_logs 8738 (SSE
`data: {"data", "timestamp"}`), get_zero_gpu_quota 8283; _commit_api.py: preupload 703-773 and the ndjson
commit; utils/_http.py: error headers) and ../shared/research/peers-2026-11.md §4.
Stages advance with time since the last commit, as a Space builds after a push.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import urlsplit

import yaml


@dataclass
class Repo:
    repo_type: str
    private: bool = False
    hardware: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    sha: str = ""
    running_sha: str = ""  # the commit the running app was built from
    pushed_at: float = 0.0


@dataclass
class Scenario:
    """What the fake answers; tests change it before running a command."""

    users: dict[str, dict] = field(default_factory=dict)  # token -> whoami answer
    # [(stage, seconds in it)]; the last stage lasts forever
    stages: list[tuple[str, float]] = field(default_factory=lambda: [("BUILDING", 0.3), ("APP_STARTING", 0.3),
                                                                     ("RUNNING", 0.0)])
    error_message: str = ""
    build_log: list[str] = field(default_factory=lambda: ["Step 1/3 : FROM python:3.11", "Successfully built"])
    run_log: list[str] = field(default_factory=lambda: ["Running on local URL:  http://0.0.0.0:7860"])
    app_host: str = ""
    create_status: Optional[tuple[int, dict, dict]] = None  # (status, headers, body) forced on repos/create
    whoami_status: Optional[tuple[int, dict, dict]] = None
    quota: Optional[dict] = None
    # After a push to a running Space, the old build keeps RUNNING this long before the new one starts.
    switch_delay: float = 0.3


class FakeHub:
    def __init__(self) -> None:
        self.scenario = Scenario()
        self.repos: dict[str, Repo] = {}  # "space/owner/name" etc.
        self.requests: list[tuple[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakeHub":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_user(self, token: str, name: str, role: str = "write") -> None:
        self.scenario.users[token] = {"type": "user", "name": name, "fullname": name,
                                      "auth": {"type": "access_token",
                                               "accessToken": {"displayName": "t", "role": role}}}

    def space(self, repo_id: str) -> Optional[Repo]:
        return self.repos.get(f"space/{repo_id}")

    # --- the server ---------------------------------------------------------------------------

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                hub._dispatch(self, "GET")

            def do_POST(self):
                hub._dispatch(self, "POST")

            def do_DELETE(self):
                hub._dispatch(self, "DELETE")

        return Handler

    def _dispatch(self, request: BaseHTTPRequestHandler, method: str) -> None:
        path = urlsplit(request.path).path
        self.requests.append((method, path))
        length = int(request.headers.get("content-length") or 0)
        body = request.rfile.read(length) if length else b""
        token = (request.headers.get("authorization") or "").removeprefix("Bearer ").strip()
        user = self.scenario.users.get(token)
        parts = path.strip("/").split("/")
        try:
            if path == "/api/whoami-v2":
                if self.scenario.whoami_status:
                    return self._send(request, *self.scenario.whoami_status)
                if user is None:
                    return self._send(request, 401, {"X-Error-Message": "Invalid credentials in Authorization header"},
                                      {"error": "Invalid credentials in Authorization header"})
                return self._send(request, 200, {}, user)
            if path == "/api/spaces/zero-gpu/quota":
                if user is None:
                    return self._send(request, 401, {}, {"error": "Unauthorized"})
                return self._send(request, 200, {}, self.scenario.quota or {"base": 300, "current": 300,
                                                                           "resetsAt": None})
            if path == "/api/repos/create" and method == "POST":
                return self._create(request, user, json.loads(body))
            if path == "/api/validate-yaml" and method == "POST":
                return self._validate_yaml(request, json.loads(body))
            if parts[:2] == ["api", "spaces"] and len(parts) >= 4:
                repo_id = f"{parts[2]}/{parts[3]}"
                repo = self.space(repo_id)
                if repo is None or (repo.private and (user is None or user["name"] != parts[2])):
                    return self._send(request, 404, {"X-Error-Code": "RepoNotFound"}, {"error": "Repository not found"})
                rest = parts[4:]
                if not rest and method == "GET":
                    return self._send(request, 200, {}, self._space_info(repo_id, repo))
                if user is None or user["name"] != parts[2]:
                    return self._send(request, 403, {}, {"error": "You don't have the rights"})
                if rest == ["runtime"]:
                    return self._send(request, 200, {}, self._runtime(repo))
                if rest[:1] == ["preupload"]:
                    files = json.loads(body)["files"]
                    return self._send(request, 200, {}, {"files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
                        for f in files]})
                if rest[:1] == ["commit"]:
                    return self._commit(request, repo_id, repo, body)
                if rest == ["variables"] and method == "POST":
                    item = json.loads(body)
                    repo.variables[item["key"]] = item["value"]
                    return self._send(request, 200, {}, {k: {"value": v} for k, v in repo.variables.items()})
                if rest == ["secrets"] and method == "POST":
                    item = json.loads(body)
                    repo.secrets[item["key"]] = item["value"]
                    return self._send(request, 200, {}, {})
                if rest[:1] == ["logs"]:
                    lines = self.scenario.build_log if rest[1:] == ["build"] else self.scenario.run_log
                    return self._send_sse(request, lines)
            if parts[:2] == ["api", "models"] or parts[:2] == ["api", "datasets"]:
                kind = parts[1][:-1]
                if len(parts) >= 4 and f"{kind}/{parts[2]}/{parts[3]}" in self.repos:
                    return self._send(request, 200, {}, {"id": f"{parts[2]}/{parts[3]}"})
                return self._send(request, 404, {"X-Error-Code": "RepoNotFound"}, {"error": "Repository not found"})
            return self._send(request, 404, {}, {"error": f"fake hub: no route {method} {path}"})
        except (ValueError, KeyError) as exc:
            return self._send(request, 400, {}, {"error": f"fake hub: bad request: {exc}"})

    def _create(self, request, user, payload: dict) -> None:
        if self.scenario.create_status:
            return self._send(request, *self.scenario.create_status)
        if user is None:
            return self._send(request, 401, {}, {"error": "Invalid credentials in Authorization header"})
        owner = payload.get("organization") or user["name"]
        if owner != user["name"]:
            return self._send(request, 403, {}, {"error": "You don't have the rights to create a repo under this namespace"})
        repo_id = f"{owner}/{payload['name']}"
        repo_type = payload.get("type", "model")
        for kind in ("model", "dataset", "space"):
            if f"{kind}/{repo_id}" in self.repos:
                prefix = "" if kind == "model" else f"{kind}s/"
                return self._send(request, 409, {}, {"error": f"You already created this {kind} repo",
                                                     "url": f"{self.url}/{prefix}{repo_id}"})
        self.repos[f"{repo_type}/{repo_id}"] = Repo(
            repo_type, private=payload.get("visibility") == "private", hardware=payload.get("hardware", "cpu-basic"),
            variables={v["key"]: v["value"] for v in payload.get("variables") or []},
            secrets={s["key"]: s["value"] for s in payload.get("secrets") or []})
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        return self._send(request, 200, {}, {"url": f"{self.url}/{prefix}{repo_id}"})

    def _validate_yaml(self, request, payload: dict) -> None:
        content = payload["content"]
        errors = []
        if content.startswith("---"):
            meta = yaml.safe_load(content.split("---")[1]) or {}
            if payload.get("repoType") == "space" and meta.get("sdk") not in ("gradio", "docker", "static"):
                errors.append({"message": '"sdk" must be one of [gradio, docker, static]'})
        if errors:
            return self._send(request, 400, {}, {"errors": errors, "warnings": []})
        return self._send(request, 200, {}, {"errors": [], "warnings": []})

    def _commit(self, request, repo_id: str, repo: Repo, body: bytes) -> None:
        lines = [json.loads(line) for line in body.decode("utf-8").splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            return self._send(request, 400, {}, {"error": "the first ndjson line must be the header"})
        for line in lines[1:]:
            if line["key"] == "file":
                value = line["value"]
                repo.files[value["path"]] = base64.b64decode(value["content"])
        if repo.sha and self._stage(repo) == "RUNNING":
            repo.running_sha = repo.sha
        repo.sha = hashlib.sha1(body).hexdigest()
        repo.pushed_at = time.monotonic()
        return self._send(request, 200, {}, {"commitUrl": f"{self.url}/spaces/{repo_id}/commit/{repo.sha}",
                                             "commitOid": repo.sha, "success": True})

    def _stage(self, repo: Repo) -> str:
        if not repo.sha:
            return "NO_APP_FILE"
        elapsed = time.monotonic() - repo.pushed_at - (self.scenario.switch_delay if repo.running_sha else 0.0)
        for stage, seconds in self.scenario.stages[:-1]:
            if elapsed < seconds:
                return stage
            elapsed -= seconds
        return self.scenario.stages[-1][0]

    def _runtime(self, repo: Repo) -> dict[str, Any]:
        stage, sha = self._stage(repo), repo.sha
        if repo.running_sha and time.monotonic() - repo.pushed_at < self.scenario.switch_delay:
            stage, sha = "RUNNING", repo.running_sha
        runtime: dict[str, Any] = {"stage": stage, "hardware": {"current": repo.hardware,
                                                                "requested": repo.hardware},
                                   "storage": None, "gcTimeout": 172800, "devMode": False, "sha": sha}
        if self.scenario.error_message and runtime["stage"].endswith("ERROR"):
            runtime["errorMessage"] = self.scenario.error_message
        return runtime

    def _space_info(self, repo_id: str, repo: Repo) -> dict[str, Any]:
        return {"id": repo_id, "author": repo_id.split("/")[0], "sha": repo.sha, "private": repo.private,
                "sdk": "gradio", "host": self.scenario.app_host, "subdomain": repo_id.replace("/", "-").lower(),
                "runtime": self._runtime(repo)}

    # --- answers ------------------------------------------------------------------------------

    def _send(self, request, status: int, headers: dict, body: Any) -> None:
        data = json.dumps(body).encode("utf-8")
        request.send_response(status)
        request.send_header("content-type", "application/json")
        request.send_header("content-length", str(len(data)))
        for key, value in headers.items():
            request.send_header(key, value)
        request.end_headers()
        request.wfile.write(data)

    def _send_sse(self, request, lines: list[str]) -> None:
        data = "".join(f"data: {json.dumps({'data': line + chr(10), 'timestamp': '2026-11-28T00:00:00Z'})}\n\n"
                       for line in lines).encode("utf-8")
        request.send_response(200)
        request.send_header("content-type", "text/event-stream")
        request.send_header("content-length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests (no mocks of our own code).

``LocalOpenAIServer(reply)`` serves ``POST /v1/chat/completions``; ``reply(request_json)`` returns
the assistant message dict (``{"content": ...}`` or ``{"tool_calls": [...]}``), or an int HTTP
status to fail with. Every request body is kept in ``.requests``. With ``echo_auth=True`` an
error body quotes the request's ``Authorization`` header, as some misconfigured proxies do (to
test that a key echoed by a server never reaches a file, log or exception).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], dict[str, Any] | int]


class LocalOpenAIServer:
    """OpenAI chat-completions endpoint on loopback, bounded to ``max_requests`` requests."""

    def __init__(self, reply: Reply, *, max_requests: int = 200, echo_auth: bool = False) -> None:
        self.reply = reply
        self.echo_auth = echo_auth
        self.requests: list[dict[str, Any]] = []
        self.max_requests = max_requests
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append({"path": self.path, "headers": headers, **body})
                if len(server.requests) > server.max_requests:
                    self._send(429, {"error": {"message": "test server request budget spent"}})
                    return
                out = server.reply(body)
                if isinstance(out, int):
                    message = f"test server error {out}"
                    if server.echo_auth:
                        auth = headers.get("authorization", "")
                        message += f" for Authorization: {auth} (key {auth.split()[-1]!r})"
                    self._send(out, {"error": {"message": message}})
                    return
                reply: dict[str, Any] = {"role": "assistant", "content": out.get("content")}
                if out.get("tool_calls"):
                    reply["tool_calls"] = out["tool_calls"]
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{len(server.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "test-model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": reply,
                                "finish_reason": "tool_calls" if out.get("tool_calls") else "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The ``/v1`` base URL to give ``ChatOpenAI`` or ``OPENAI_BASE_URL``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> LocalOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def tool_call(name: str, args: dict[str, Any], call_id: str = "call_1") -> dict[str, Any]:
    """One OpenAI-format tool call."""
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }


def configure_env(monkeypatch: Any, server: LocalOpenAIServer) -> None:
    """Point the default model at ``server`` (a test key, a test model name)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("NOVA_MODEL", "local-test-model")

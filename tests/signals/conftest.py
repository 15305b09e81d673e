"""A real HTTP server speaking the OpenAI chat-completions protocol, in a thread: the HTTP judge is tested
over a socket against answers it must accept, refuse, or time out on."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Answer = Callable[[dict[str, Any]], tuple[int, Any, float]]


class FakeLLM:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answer: Answer = lambda body: (500, {"error": "no answer set"}, 0.0)

    def label(self, label: dict[str, Any], delay: float = 0.0) -> None:
        def answer(body: dict[str, Any]) -> tuple[int, Any, float]:
            post = json.loads(body["messages"][1]["content"])
            content = json.dumps(dict(label, id=post["id"]))
            reply = {
                "choices": [{"message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 2000, "completion_tokens": 60},
            }
            return 200, reply, delay

        self.answer = answer


@pytest.fixture
def fake_llm() -> Iterator[tuple[FakeLLM, str]]:
    llm = FakeLLM()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            llm.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
            status, reply, delay = llm.answer(body)
            time.sleep(delay)
            data = json.dumps(reply).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield llm, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

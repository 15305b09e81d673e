"""A fake feed server running in a background thread for the benchmark tests.

A real socket and a real HTTP server (rather than an ASGI transport) because what is under test
is timing across a connection pool: queueing for connections, send time, open-loop scheduling.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from bench_fake_server import FakeServer, build_app, free_port


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeServer]:
    app, state = build_app()
    # uvicorn binds the port itself: handing it a pre-bound socket instead made every keep-alive
    # request on this machine take ~45 ms (Nagle/delayed-ACK-like stalls), which would swamp the
    # timings under test.  The port could in theory be taken between probe and bind; that only
    # makes the fixture fail loudly.
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("fake server did not start")
        time.sleep(0.01)
    try:
        yield FakeServer(f"http://127.0.0.1:{port}", state)
    finally:
        server.should_exit = True
        thread.join(timeout=10)

"""A fake feed server running in a background thread for the benchmark tests.

A real socket and a real HTTP server (rather than an ASGI transport) because what is under test
is timing across a connection pool: queueing for connections, send time, open-loop scheduling.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bench_fake_server import FakeServer, running_fake_server


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeServer]:
    with running_fake_server() as server:
        yield server

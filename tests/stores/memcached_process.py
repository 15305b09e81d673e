"""A real memcached server for the tests (Debian's package; scripts/_memcached.sh installs it in CI), on
a free port, for as long as the fixture holds it. Missing: the tests skip locally and fail in CI."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from tests.conftest import IN_CI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memcached_server() -> Iterator[str]:
    """Yields ``memcached://127.0.0.1:<port>``."""
    binary = shutil.which("memcached")
    if binary is None:
        msg = "memcached is not installed (scripts/_memcached.sh installs Debian's package)"
        if IN_CI:
            pytest.fail(msg + " (CI requires it)")
        pytest.skip(msg)
    port = free_port()
    proc = subprocess.Popen(
        [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "64", "-u", "root"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                proc.kill()
                raise RuntimeError(f"memcached did not start: {err}") from None
            time.sleep(0.05)
    try:
        yield f"memcached://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)

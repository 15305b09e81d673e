"""A free TCP port on 127.0.0.1 for a process a benchmark or test starts (the OS picks it)."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

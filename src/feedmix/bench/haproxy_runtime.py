"""HAProxy's runtime API (the ``stats socket`` of ``ops/haproxy/haproxy.cfg.template``), as far as a
rolling restart needs it: take a replica out of rotation, see when it has no request left, put it back.

One command per connection over the Unix socket, as ``socat`` would send it; HAProxy answers and
closes. Only what the restart reads is parsed: ``show stat`` is CSV with a ``# `` header.
"""

from __future__ import annotations

import csv
import socket
import time
from dataclasses import dataclass
from pathlib import Path

#: the states ``set server <backend>/<server> state`` accepts
STATES = ("ready", "drain", "maint")


@dataclass(frozen=True)
class ServerStat:
    """One server line of ``show stat``."""

    name: str
    status: str
    """``UP``, ``DOWN``, ``DRAIN``, ``MAINT``, or a transition such as ``UP 1/2`` (going down)."""
    current_sessions: int
    """``scur``: requests the balancer has on this server now (idle keep-alive connections are not)."""
    total_sessions: int
    """``stot``: since the balancer started."""
    responses_2xx: int
    """``hrsp_2xx``: successful responses it relayed from this server."""


class HaproxyRuntime:
    def __init__(self, socket_path: str | Path, timeout_s: float = 5.0) -> None:
        self.socket_path = str(socket_path)
        self.timeout_s = timeout_s

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(self.timeout_s)
            s.connect(self.socket_path)
            s.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def set_state(self, backend: str, server: str, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}, got {state!r}")
        answer = self.command(f"set server {backend}/{server} state {state}").strip()
        if answer:  # silence is success; anything else is HAProxy refusing (unknown server, ...)
            raise RuntimeError(f"haproxy refused 'set server {backend}/{server} state {state}': {answer}")

    def servers(self, backend: str) -> dict[str, ServerStat]:
        text = self.command("show stat")
        if not text.startswith("# "):
            raise RuntimeError(f"unexpected 'show stat' answer: {text[:200]!r}")
        rows = csv.DictReader(text[2:].splitlines())
        out: dict[str, ServerStat] = {}
        for row in rows:
            if row.get("pxname") != backend or row.get("svname") in ("FRONTEND", "BACKEND"):
                continue
            out[row["svname"]] = ServerStat(
                name=row["svname"],
                status=row["status"],
                current_sessions=int(row["scur"] or 0),
                total_sessions=int(row["stot"] or 0),
                responses_2xx=int(row["hrsp_2xx"] or 0),
            )
        return out

    def server(self, backend: str, server: str) -> ServerStat:
        stats = self.servers(backend)
        if server not in stats:
            raise KeyError(f"haproxy has no server {backend}/{server} (has {sorted(stats)})")
        return stats[server]

    def wait_idle(self, backend: str, server: str, timeout_s: float) -> float:
        """Seconds until ``server`` had no request in flight; TimeoutError after ``timeout_s``."""
        start = time.monotonic()
        while self.server(backend, server).current_sessions > 0:
            if time.monotonic() - start > timeout_s:
                raise TimeoutError(f"{backend}/{server} still had requests after {timeout_s:.0f} s")
            time.sleep(0.02)
        return time.monotonic() - start

    def wait_status(self, backend: str, server: str, status: str, timeout_s: float) -> float:
        """Seconds until ``server``'s status is exactly ``status`` (``UP``: its checks passed)."""
        start = time.monotonic()
        while (now := self.server(backend, server).status) != status:
            if time.monotonic() - start > timeout_s:
                raise TimeoutError(f"{backend}/{server} is {now!r}, not {status!r}, after {timeout_s:.0f} s")
            time.sleep(0.05)
        return time.monotonic() - start

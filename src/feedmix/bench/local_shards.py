"""Shard servers as real local processes (``feedmix index shard-serve``), for tests and ``bench shards``.

Each process is started on a free port chosen by the server itself (``--port 0``) and prints one JSON
line with its address before serving; :class:`ShardProcess` reads that line, so nothing is assumed
about timing. Processes are stopped by their own process id (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


class ShardProcess:
    """One ``feedmix index shard-serve`` process; ``address`` once it listens."""

    def __init__(
        self,
        index_dir: str | os.PathLike[str],
        shards: int,
        shard: int,
        *,
        workers: int = 2,
        delay_ms: float = 0.0,
    ) -> None:
        self.shard = shard
        cmd = [
            sys.executable,
            "-m",
            "feedmix.cli",
            "index",
            "shard-serve",
            "--index-dir",
            str(Path(index_dir)),
            "--shards",
            str(shards),
            "--shard",
            str(shard),
            "--workers",
            str(workers),
            "--watch-interval-s",
            "0",
            "--test-delay-ms",
            str(delay_ms),
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.info: dict[str, Any] = {}
        self.address = ""

    def wait_ready(self, timeout_s: float = 60.0) -> ShardProcess:
        """Block until the server printed its address (raises if it exits or times out first)."""
        self.info = self._read_line(timeout_s)
        self.address = str(self.info["listening"])
        return self

    def _read_line(self, timeout_s: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if sel.select(timeout=max(0.0, end - time.monotonic())):
                line = self.proc.stdout.readline()
                if not line:
                    break
                out: dict[str, Any] = json.loads(line)
                return out
        self.kill()
        raise RuntimeError(f"shard {self.shard} did not start (exit code {self.proc.poll()})")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the way a crashed shard disappears (no goodbye to its clients)."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def start_shards(
    index_dir: str | os.PathLike[str],
    shards: int,
    *,
    delay_ms: dict[int, float] | None = None,
    workers: int = 2,
) -> list[ShardProcess]:
    """One process per shard (started together, so their imports overlap), in shard order."""
    procs: list[ShardProcess] = []
    try:
        for i in range(shards):
            procs.append(
                ShardProcess(index_dir, shards, i, delay_ms=(delay_ms or {}).get(i, 0.0), workers=workers)
            )
        for p in procs:
            p.wait_ready()
    except Exception:
        for p in procs:
            p.stop()
        raise
    return procs


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks

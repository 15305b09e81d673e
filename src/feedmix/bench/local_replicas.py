"""N ``feedmix serve`` processes behind a real HAProxy (Debian's ``haproxy``), on free local ports,
and the rolling restart an operator runs on them: the deployment of ``ops/haproxy/README.md`` in
one object, so the tests and ``feedmix bench balancer`` check it rather than a description of it.

Each replica has its own state directory and config file (written from a :class:`FeedmixConfig`);
they share one retrieval index directory, which the first replica builds before the others start.
The balancer's config is ``ops/haproxy/haproxy.cfg.template`` filled in. Everything runs in a
temporary directory and is stopped by process id at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from feedmix.bench.haproxy_runtime import HaproxyRuntime
from feedmix.bench.ports import free_port
from feedmix.bench.serving import ServerProcess
from feedmix.config import FeedmixConfig

TEMPLATE = Path(__file__).resolve().parents[3] / "ops" / "haproxy" / "haproxy.cfg.template"
BACKEND = "feedmix"
#: seconds a stopping replica gets to finish its requests (feedmix's own grace is 30 s)
STOP_GRACE_S = 40.0


@dataclass
class Replica:
    name: str
    port: int
    config_path: Path
    process: ServerProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, startup_timeout_s: float) -> None:
        cmd = [sys.executable, "-m", "feedmix.cli", "serve", "--config", str(self.config_path)]
        self.process = ServerProcess(cmd, self.url, startup_timeout_s).__enter__()

    def stop(self) -> int | None:
        """SIGTERM and wait (SIGKILL after :data:`STOP_GRACE_S`); the exit status, 0 for a clean stop."""
        if self.process is None or self.process.proc is None:
            return None
        proc = self.process.proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.process.__exit__(None, None, None)  # its process group, and the log file
        return proc.returncode


@dataclass
class RestartStep:
    """One replica's turn in a rolling restart (seconds)."""

    name: str
    drain_s: float
    """From ``state drain`` until the balancer had no request on it."""
    stop_s: float
    """From SIGTERM until the process exited."""
    exit_code: int | None
    start_s: float
    """From starting the process until its own ``/healthz`` answered."""
    back_s: float
    """From ``state ready`` until the balancer's checks marked it ``UP``."""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class LocalReplicas:
    """``LocalReplicas(2).start()``: two replicas and HAProxy, healthy; ``.stop()`` ends them all."""

    replicas: int = 2
    settings: dict[str, Any] = field(default_factory=dict)
    """FeedmixConfig fields every replica gets (``users``, ``posts``, stores, ...)."""
    check_inter_ms: int = 500
    startup_timeout_s: float = 180.0

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise ValueError("at least one replica")
        self.haproxy_bin = shutil.which("haproxy")
        if self.haproxy_bin is None:
            raise FileNotFoundError("haproxy is needed (Debian: apt-get install haproxy)")
        self._dir = tempfile.TemporaryDirectory(prefix="feedmix-replicas-")
        self.root = Path(self._dir.name)
        self.port = free_port()
        self.socket_path = self.root / "haproxy.sock"
        self.runtime = HaproxyRuntime(self.socket_path)
        self.nodes: list[Replica] = []
        self._haproxy: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The balancer."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalReplicas:
        try:
            index_dir = self.settings.get("index_dir") or os.environ.get("FEEDMIX_INDEX_DIR")
            index_dir = index_dir or str(self.root / "index")
            for i in range(1, self.replicas + 1):
                name, port = f"r{i}", free_port()
                state = self.root / name
                state.mkdir()
                cfg = FeedmixConfig(
                    **{**self.settings, "port": port, "grpc_port": 0, "index_dir": index_dir},
                    state_dir=str(state),
                )
                path = self.root / f"{name}.toml"
                path.write_text(cfg.to_toml(f"replica {name} of feedmix.bench.local_replicas"))
                self.nodes.append(Replica(name, port, path))
            # the first builds the shared index when it is missing; the others then only open it
            self.nodes[0].start(self.startup_timeout_s)
            for node in self.nodes[1:]:
                node.start(self.startup_timeout_s)
            self._start_haproxy()
        except BaseException:
            self.stop()
            raise
        return self

    def haproxy_config(self) -> str:
        servers = "\n".join(f"    server {n.name} 127.0.0.1:{n.port}" for n in self.nodes)
        return string.Template(TEMPLATE.read_text()).substitute(
            bind=f"127.0.0.1:{self.port}",
            stats_socket=str(self.socket_path),
            check_inter_ms=f"{self.check_inter_ms}ms",
            servers=servers,
        )

    def _start_haproxy(self) -> None:
        assert self.haproxy_bin is not None
        cfg = self.root / "haproxy.cfg"
        cfg.write_text(self.haproxy_config())
        check = subprocess.run([self.haproxy_bin, "-c", "-q", "-f", str(cfg)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused {cfg}:\n{check.stdout}{check.stderr}")
        log = (self.root / "haproxy.log").open("wb")
        # -db: stay in the foreground, so the process id is haproxy's own and SIGTERM stops it
        self._haproxy = subprocess.Popen(
            [self.haproxy_bin, "-db", "-f", str(cfg)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + 10
        while not self.socket_path.exists():
            if self._haproxy.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"haproxy did not start:\n{self.haproxy_log()}")
            time.sleep(0.05)
        for node in self.nodes:
            self.runtime.wait_status(BACKEND, node.name, "UP", timeout_s=30)
        with httpx.Client(timeout=5, trust_env=False) as client:
            client.get(self.url + "/healthz").raise_for_status()

    def haproxy_log(self) -> str:
        path = self.root / "haproxy.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def restart_one(self, node: Replica, drain: bool = True, drain_timeout_s: float = 30.0) -> RestartStep:
        """Drain ``node`` through the runtime API, stop it (SIGTERM), start it, put it back.

        ``drain`` sends no new request to it; ``maint`` then also stops its health checks, so the
        stopped process is not reported DOWN; ``ready`` lets checks bring it back once it answers.
        With ``drain=False`` the balancer is not told: the replica just stops and starts, and its
        health checks and the retries of ``ops/haproxy`` are all that keep requests from failing.
        """
        drain_s = 0.0
        if drain:
            self.runtime.set_state(BACKEND, node.name, "drain")
            drain_s = self.runtime.wait_idle(BACKEND, node.name, drain_timeout_s)
            self.runtime.set_state(BACKEND, node.name, "maint")
        t = time.monotonic()
        exit_code = node.stop()
        stop_s = time.monotonic() - t
        t = time.monotonic()
        node.start(self.startup_timeout_s)
        start_s = time.monotonic() - t
        t = time.monotonic()
        if drain:
            self.runtime.set_state(BACKEND, node.name, "ready")
        self.runtime.wait_status(BACKEND, node.name, "UP", timeout_s=60)
        back_s = time.monotonic() - t
        return RestartStep(node.name, drain_s, stop_s, exit_code, start_s, back_s)

    def rolling_restart(self, drain: bool = True, drain_timeout_s: float = 30.0) -> list[RestartStep]:
        """Every replica in turn; the next one only once the previous is UP behind the balancer."""
        return [self.restart_one(node, drain, drain_timeout_s) for node in self.nodes]

    def stop(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop()
        if self._haproxy is not None and self._haproxy.poll() is None:
            self._haproxy.terminate()
            try:
                self._haproxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._haproxy.kill()
                self._haproxy.wait()
        self._dir.cleanup()

    def __enter__(self) -> LocalReplicas:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""A throwaway one-machine Ray cluster: ``ray start --head --block`` in a temporary directory.

The tests and ``feedmix bench jobs`` run the Ray executor against a real cluster, started the way an
operator starts a head node. Every port the head listens on is a free one (two clusters, or another
user's, never collide), the object store is small and Ray's usage reporting is off. ``--block`` keeps
``ray start`` in the foreground as the parent of the cluster's processes, so stopping it by its
process id stops them all; ``ray stop`` is not used because it stops every Ray process of the user on
the machine, including clusters this one did not start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: environment of the cluster's processes: no usage report, no network lookups at start
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DISABLE_DOCKER_CPU_WARNING": "1"}


def ray_binary() -> str:
    """``ray`` beside this interpreter (the virtual environment's), else on the PATH."""
    beside = Path(sys.executable).with_name("ray")
    found = str(beside) if beside.is_file() else shutil.which("ray")
    if not found:
        raise FileNotFoundError("the `ray` command is not installed (pip install 'feedmix[ray]')")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRayCluster:
    """``with LocalRayCluster(cpus=2) as cluster: make_executor("ray", cluster.address)``."""

    def __init__(self, cpus: int = 2, object_store_mb: int = 256, start_timeout_s: float = 60.0) -> None:
        binary = ray_binary()
        # a short root: Ray's socket paths under it must stay within the 107-byte limit of AF_UNIX
        self._dir = tempfile.mkdtemp(prefix="fmray-", dir="/tmp" if os.path.isdir("/tmp") else None)
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        ports = {
            "--dashboard-port": _free_port(),
            "--dashboard-agent-listen-port": _free_port(),
            "--dashboard-agent-grpc-port": _free_port(),
            "--runtime-env-agent-port": _free_port(),
            "--metrics-export-port": _free_port(),
            "--ray-client-server-port": _free_port(),
        }
        args = [
            binary,
            "start",
            "--head",
            "--block",
            f"--port={self.port}",
            "--node-ip-address=127.0.0.1",
            f"--num-cpus={cpus}",
            "--num-gpus=0",
            f"--object-store-memory={object_store_mb * 1024 * 1024}",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={self._dir}",
            *(f"{k}={v}" for k, v in ports.items()),
        ]
        self._log = open(Path(self._dir) / "ray-start.log", "wb")  # noqa: SIM115 - closed by stop()
        self._proc = subprocess.Popen(
            args,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **RAY_ENV},
            start_new_session=True,  # its own process group: stop() can reach what it leaves behind
        )
        try:
            self._wait_ready(start_timeout_s)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"ray start exited with {self._proc.returncode}: {self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5):
                return
            time.sleep(0.2)
        raise TimeoutError(
            f"the Ray head did not listen on {self.address} in {timeout_s} s: {self.log_tail()}"
        )

    def log_tail(self, chars: int = 2000) -> str:
        self._log.flush()
        return (Path(self._dir) / "ray-start.log").read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        """SIGTERM to ``ray start``, which stops the processes it started; whatever is left of its
        process group after 30 s is killed."""
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(30)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(5)
        self._log.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> LocalRayCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

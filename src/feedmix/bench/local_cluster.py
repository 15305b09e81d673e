"""A throwaway Redis Cluster from the local ``redis-server`` binary: three masters, and by default a
replica of each, joined by ``redis-cli --cluster create`` as an operator builds one.

Every Redis-backed layout has to work on a cluster (hash tags, no cross-slot MGET or scripts); the
only convincing check is a real one. Nodes run in a temporary directory on free ports (whose cluster
bus ports, 10,000 higher, are free too) and are stopped by process id at the end.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port(taken: list[int]) -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 30000)
        if port not in taken and _bindable(port) and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


class LocalCluster:
    def __init__(self, masters: int = 3, replicas: int = 1) -> None:
        nodes = masters * (1 + replicas)
        server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        if not server or not cli:
            raise FileNotFoundError("redis-server and redis-cli are needed for a local cluster")
        self._dir = tempfile.TemporaryDirectory(prefix="feedmix-cluster-")
        self.ports: list[int] = []
        for _ in range(nodes):
            self.ports.append(_free_port(self.ports))
        self._procs: list[subprocess.Popen[bytes]] = []
        try:
            for port in self.ports:
                work = Path(self._dir.name) / str(port)
                work.mkdir()
                self._procs.append(
                    subprocess.Popen(
                        [
                            server,
                            "--port",
                            str(port),
                            "--bind",
                            "127.0.0.1",
                            "--cluster-enabled",
                            "yes",
                            "--cluster-config-file",
                            str(work / "nodes.conf"),
                            "--dir",
                            str(work),
                            "--save",
                            "",
                            "--appendonly",
                            "no",
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            for port in self.ports:
                self._wait_ping(port)
            subprocess.run(
                [
                    cli,
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{p}" for p in self.ports),
                    "--cluster-replicas",
                    str(replicas),
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _wait_ping(port: int) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        for port in self.ports:
            client = redis.Redis(host="127.0.0.1", port=port)
            while client.cluster("info").get("cluster_state") != "ok":  # type: ignore[union-attr]
                if time.monotonic() > deadline:
                    raise TimeoutError("the local cluster did not become ready")
                time.sleep(0.05)
            client.close()

    def stop(self) -> None:
        for proc in self._procs:
            proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._dir.cleanup()

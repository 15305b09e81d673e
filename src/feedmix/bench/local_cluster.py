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
    def __init__(self, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 15_000) -> None:
        """``node_timeout_ms``: how long a master may be unreachable before its replica takes over
        (Redis's ``cluster-node-timeout``; the failover benchmark makes it short)."""
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
                            "--repl-diskless-sync-delay",
                            "0",
                            "--logfile",
                            str(work / "redis.log"),
                            "--cluster-node-timeout",
                            str(node_timeout_ms),
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
            # a replica that has not finished its first sync could not take over from its master
            while client.info("replication").get("master_link_status", "up") != "up":
                if time.monotonic() > deadline:
                    raise TimeoutError("the local cluster's replicas did not sync")
                time.sleep(0.05)
            client.close()

    def master_port_of(self, key: str) -> int:
        """The port of the master that serves ``key``'s slot now."""
        slot = int(redis.Redis(host="127.0.0.1", port=self.live_port()).cluster("keyslot", key))  # type: ignore[arg-type]
        for port in self.live_ports():
            node = redis.Redis(host="127.0.0.1", port=port)
            try:
                role = node.execute_command("ROLE")[0]  # type: ignore[no-untyped-call]
                if role == b"master" and any(lo <= slot <= hi for lo, hi in self._slots_of(node)):
                    return port
            finally:
                node.close()
        raise LookupError(f"no master serves the slot of {key!r}")

    @staticmethod
    def _slots_of(node: redis.Redis) -> list[tuple[int, int]]:
        myself = next(line for line in _cluster_nodes(node) if "myself" in line)
        ranges = []
        for part in myself.split()[8:]:
            if part.startswith("["):
                continue  # a slot being migrated
            lo, _, hi = part.partition("-")
            ranges.append((int(lo), int(hi or lo)))
        return ranges

    def kill(self, port: int) -> None:
        """SIGKILL the node on ``port``: no goodbye, as a crashed machine."""
        proc = self._procs[self.ports.index(port)]
        proc.kill()
        proc.wait(timeout=5)

    def live_ports(self) -> list[int]:
        return [p for p, proc in zip(self.ports, self._procs, strict=True) if proc.poll() is None]

    def live_port(self) -> int:
        return self.live_ports()[0]

    def wait_failover(self, dead_port: int, timeout_s: float = 60.0) -> float:
        """Wait until every live node reports the cluster healthy again with ``dead_port`` failed
        (its replica promoted); returns the seconds waited."""
        t0 = time.monotonic()
        while True:
            healthy = True
            for port in self.live_ports():
                node = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
                try:
                    state = node.cluster("info").get("cluster_state")  # type: ignore[union-attr]
                    failed = any(
                        f":{dead_port}@" in line and "fail" in line.split()[2]
                        for line in _cluster_nodes(node)
                    )
                    healthy = healthy and state == "ok" and failed
                except redis.RedisError:
                    healthy = False
                finally:
                    node.close()
            if healthy:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout_s:
                raise TimeoutError(f"no failover of the node on port {dead_port} within {timeout_s} s")
            time.sleep(0.05)

    def stop(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._dir.cleanup()


def _cluster_nodes(node: redis.Redis) -> list[str]:
    """``CLUSTER NODES`` as lines: id, address, flags, master, ..., slot ranges."""
    raw: bytes = node.execute_command("CLUSTER", "NODES")  # type: ignore[no-untyped-call]
    return raw.decode().splitlines()

"""A real Redis Cluster for the tests: six ``redis-server`` processes on spare ports (three masters,
three replicas) joined by ``redis-cli --cluster create``, as an operator would build one, in a scratch
directory; torn down at the end of the session. The binaries come with the machine's Redis."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI

NODES = 6


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(n: int) -> list[int]:
    """``n`` ports whose cluster-bus ports (10,000 higher, so at most 55,535) are free too."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 45_000)
        ports = list(range(base, base + n))
        if all(_free(p) and _free(p + 10_000) for p in ports):
            return ports
    raise RuntimeError("no free ports for a Redis Cluster")


def redis_cluster(root: Path) -> Iterator[list[int]]:
    """Yields the ports of the six nodes once the cluster reports ``cluster_state:ok``."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        msg = "redis-server and redis-cli are needed for the Redis Cluster tests"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    ports = _free_ports(NODES)
    procs = []
    try:
        for port in ports:
            d = root / str(port)
            d.mkdir(parents=True)
            procs.append(
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
                        str(d / "nodes.conf"),
                        "--cluster-node-timeout",
                        "2000",
                        "--appendonly",
                        "no",
                        "--save",
                        "",
                        "--dir",
                        str(d),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port in ports:
            _wait_for(lambda p=port: _ping(cli, p) == "PONG", f"redis-server on {port}")
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *[f"127.0.0.1:{p}" for p in ports],
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        _wait_for(lambda: all("cluster_state:ok" in _info(cli, p) for p in ports), "cluster_state:ok")
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _ping(cli: str, port: int) -> str:
    r = subprocess.run([cli, "-p", str(port), "ping"], capture_output=True, text=True, timeout=5)
    return r.stdout.strip()


def _info(cli: str, port: int) -> str:
    r = subprocess.run([cli, "-p", str(port), "cluster", "info"], capture_output=True, text=True, timeout=5)
    return r.stdout


def _wait_for(ok: object, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ok():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)

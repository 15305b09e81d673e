"""Two real ``feedmix serve`` replicas behind a real HAProxy: a rolling restart under a steady stream of
requests through the balancer fails none of them, and every replica serves (ops/haproxy/README.md)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from tests.conftest import IN_CI

from feedmix.bench.local_replicas import BACKEND, LocalReplicas

pytestmark = pytest.mark.e2e

USERS = [f"u{i:04d}" for i in range(1, 301)] + ["newcomer-1", "newcomer-2"]


@pytest.fixture(scope="module")
def replicas() -> Iterator[LocalReplicas]:
    try:
        local = LocalReplicas(2, settings={"users": 300})
    except FileNotFoundError as exc:  # pragma: no cover - depends on the machine
        if IN_CI:
            pytest.fail(f"{exc} (CI requires it: scripts/_haproxy.sh installs it)")
        pytest.skip(str(exc))
    with local:
        yield local


class Stream:
    """Clients sending one request after another through the balancer until told to stop: feeds of
    varying users, every fifth a health check; each failure is kept with what it was."""

    def __init__(self, url: str, clients: int = 3) -> None:
        self.url = url
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.served_by: Counter[str] = Counter()
        self.failures: list[str] = []
        self.sent = 0
        self.threads = [threading.Thread(target=self._run, args=(k,)) for k in range(clients)]

    def _run(self, k: int) -> None:
        i = k
        with httpx.Client(base_url=self.url, timeout=30, trust_env=False) as client:
            while not self.stop.is_set():
                path = "/healthz" if i % 5 == 4 else f"/v1/feed?user_id={USERS[i % len(USERS)]}&limit=10"
                try:
                    r = client.get(path)
                    outcome = None if r.status_code == 200 else f"{path}: HTTP {r.status_code} {r.text[:200]}"
                    replica = r.headers.get("x-feedmix-replica", "?")
                except httpx.HTTPError as exc:
                    outcome, replica = f"{path}: {type(exc).__name__}: {exc}", "-"
                with self.lock:
                    self.sent += 1
                    self.served_by[replica] += 1
                    if outcome is not None:
                        self.failures.append(outcome)
                i += 3

    def __enter__(self) -> Stream:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self.served_by)


def test_balancer_spreads_feeds_over_every_replica(replicas: LocalReplicas) -> None:
    with httpx.Client(base_url=replicas.url, timeout=30, trust_env=False) as client:
        served = Counter(
            client.get("/v1/feed", params={"user_id": u, "limit": 5}).headers["x-feedmix-replica"]
            for u in USERS[:10]
        )
    assert set(served) == {"r1", "r2"}
    stats = replicas.runtime.servers(BACKEND)
    assert {s.status for s in stats.values()} == {"UP"}
    assert all(s.responses_2xx > 0 for s in stats.values())


def test_runtime_api_refuses_an_unknown_server(replicas: LocalReplicas) -> None:
    with pytest.raises(RuntimeError, match="r9"):
        replicas.runtime.set_state(BACKEND, "r9", "drain")


def test_rolling_restart_under_load_fails_no_request(replicas: LocalReplicas) -> None:
    with Stream(replicas.url) as stream:
        while sum(stream.snapshot().values()) < 20:  # the stream runs before the first drain
            threading.Event().wait(0.05)
        before = stream.snapshot()
        steps = replicas.rolling_restart()
        after_restart = stream.snapshot()
        while sum((stream.snapshot() - after_restart).values()) < 20:  # and goes on after the last
            threading.Event().wait(0.05)
    assert stream.failures == [], f"{len(stream.failures)} of {stream.sent} failed: {stream.failures[:5]}"
    assert [s.name for s in steps] == ["r1", "r2"]
    # SIGTERM is a clean stop: in-flight requests answered, the runtime closed, status 0
    assert [s.exit_code for s in steps] == [0, 0]
    during = after_restart - before
    # while one replica was out the other carried the stream, so both served during the restart
    assert during["r1"] > 0 and during["r2"] > 0, during
    assert set(stream.served_by) == {"r1", "r2"}, stream.served_by
    assert {s.status for s in replicas.runtime.servers(BACKEND).values()} == {"UP"}

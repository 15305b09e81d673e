"""A Redis Cluster master killed under load: with writes acknowledged only once a replica holds them,
no acknowledged event is lost and no budget is overspent (a real cluster; its replica is promoted)."""

from __future__ import annotations

import shutil

import pytest
from tests.conftest import IN_CI

from feedmix.bench.failover import run_failover


def test_no_acknowledged_event_or_spend_is_lost_and_no_budget_overspent() -> None:
    if not (shutil.which("redis-server") and shutil.which("redis-cli")):
        if IN_CI:
            pytest.fail("redis-server and redis-cli are needed (CI requires them)")
        pytest.skip("redis-server and redis-cli are not installed")
    r = run_failover(wait_replicas=1, before_s=1.5, after_s=2.0, writers=2, budget=2_000)
    assert r.events_acknowledged > 0 and r.lost_events == 0
    assert r.lost_spend == {"small": 0, "large": 0}
    # the small budget ran out during the run, and was never exceeded
    assert r.spend_acknowledged["small"] == r.budget and r.overspend == 0
    assert r.spend_in_counters["small"] >= r.spend_acknowledged["small"]
    assert r.spend_acknowledged["large"] > r.budget

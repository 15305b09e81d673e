"""Spend counters contract on memory and Redis: atomic reserve, hard-capped billing, concurrency."""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedmix.ads.decision.spend_counters import (
    NO_CAP,
    Hold,
    MemorySpendCounters,
    RedisSpendCounters,
    SpendCounters,
    day_of,
    open_spend_counters,
)

DAY = day_of(1_376_006_400.0)


def test_reserve_grants_until_the_cap_and_bills_cpm_at_once(
    make_counters: Callable[[], SpendCounters],
) -> None:
    c = make_counters()
    grants = c.reserve([Hold("c1", DAY, 400, day_cap=1000, bill_now=True) for _ in range(3)])
    assert grants == [True, True, False]
    assert c.billed("c1", DAY) == (800, 800)
    day, life = c.spent_many(["c1", "other"], DAY)
    assert day.tolist() == [800, 0] and life.tolist() == [800, 0]
    # CPC holds reserve but do not bill; they still count against the cap
    assert c.reserve([Hold("c1", DAY, 150, day_cap=1000), Hold("c1", DAY, 100, day_cap=1000)]) == [
        True,
        False,
    ]
    assert c.billed("c1", DAY) == (800, 800)
    assert c.spent_many(["c1"], DAY)[0].tolist() == [950]
    # another day starts from zero, the lifetime cap spans days
    assert c.reserve([Hold("c1", DAY + 1, 300, day_cap=1000, life_cap=1200)]) == [False]
    assert c.reserve([Hold("c1", DAY + 1, 250, day_cap=1000, life_cap=1200)]) == [True]


def test_click_charges_stop_at_the_hard_cap(make_counters: Callable[[], SpendCounters]) -> None:
    c = make_counters()
    assert c.charge("c2", DAY, 600, day_hard_cap=1050).billed == 600
    second = c.charge("c2", DAY, 600, day_hard_cap=1050)
    assert (second.billed, second.unbilled) == (450, 150)
    assert c.charge("c2", DAY, 600, day_hard_cap=1050).billed == 0
    assert c.billed("c2", DAY) == (1050, 1050)
    # a lifetime hard cap binds across days
    assert c.charge("c2", DAY + 1, 600, day_hard_cap=1050, life_hard_cap=1500).billed == 450
    assert c.charge("c3", DAY, 5, day_hard_cap=10, life_hard_cap=NO_CAP).billed == 5


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amounts=st.lists(st.integers(1, 300), min_size=20, max_size=120),
    cap=st.integers(100, 5000),
    threads=st.integers(2, 8),
)
def test_concurrent_threads_never_exceed_budget_plus_tolerance(
    make_counters: Callable[[], SpendCounters], amounts: list[int], cap: int, threads: int
) -> None:
    c = make_counters()
    campaign = f"t{np.random.default_rng().integers(1 << 40)}"
    hard = int(cap * 1.05)

    def work(k: int) -> None:
        for i, a in enumerate(amounts[k::threads]):
            if i % 2:
                c.reserve([Hold(campaign, DAY, a, day_cap=cap, bill_now=True)])
            else:
                c.charge(campaign, DAY, a, day_hard_cap=hard)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    billed, _ = c.billed(campaign, DAY)
    assert billed <= hard
    assert c.spent_many([campaign], DAY)[0][0] <= hard


def _spend_worker(url: str, campaign: str, n: int, cap: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    counters = open_spend_counters(url)
    granted = billed = 0
    rng = np.random.default_rng()
    for i in range(n):
        amount = int(rng.integers(1, 50))
        if i % 3 == 0:  # a CPC click
            billed += counters.charge(campaign, DAY, amount * 5, day_hard_cap=int(cap * 1.05)).billed
        elif counters.reserve([Hold(campaign, DAY, amount, day_cap=cap, bill_now=True)])[0]:
            granted += amount
    counters.close()
    out.put(granted + billed)


def test_several_processes_sharing_redis_stay_within_tolerance(redis_url: str, redis_prefix: str) -> None:
    url = f"{redis_url}?prefix={redis_prefix}&timeout_ms=5000&connect_timeout_ms=5000"
    cap = 20_000
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_spend_worker, args=(url, "shared", 600, cap, out)) for _ in range(4)]
    for p in procs:
        p.start()
    totals = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    counters = open_spend_counters(url)
    billed, life = counters.billed("shared", DAY)
    counters.close()
    assert billed == sum(totals), "every process's grants and charges add up exactly in Redis"
    assert cap <= billed <= cap * 1.05  # demand exceeded the budget; spend stopped within tolerance
    assert life == billed


def test_redis_keys_carry_a_campaign_hash_tag() -> None:
    counters = RedisSpendCounters.__new__(RedisSpendCounters)
    counters.prefix = "p"
    assert counters.keys("c9", 15_000) == ("p:spend:{c:c9}:15000", "p:spend:{c:c9}:life")
    assert isinstance(open_spend_counters("memory://"), MemorySpendCounters)
    with pytest.raises(ValueError, match="unsupported"):
        open_spend_counters("postgres://x")


def test_a_split_holds_its_share_and_the_campaign_its_total(
    make_counters: Callable[[], SpendCounters],
) -> None:
    c = make_counters()
    # arm a may take 600 of the campaign's 1,000, arm b 400
    a = [Hold("c7", DAY, 250, day_cap=1000, bill_now=True, split="a", split_day_cap=600) for _ in range(3)]
    assert c.reserve(a) == [True, True, False]
    b = [Hold("c7", DAY, 150, day_cap=1000, bill_now=True, split="b", split_day_cap=400) for _ in range(3)]
    assert c.reserve(b) == [True, True, False]
    assert (c.split_spent("c7", DAY, "a"), c.split_spent("c7", DAY, "b")) == (500, 300)
    assert c.billed("c7", DAY) == (800, 800)  # the campaign counts every split
    # the campaign's total still binds: spend without a split took 150 first
    assert c.reserve([Hold("c7", DAY, 150, day_cap=1000, bill_now=True)]) == [True]
    assert c.reserve([Hold("c7", DAY, 100, day_cap=1000, split="a", split_day_cap=600)]) == [False]
    # a click bills under the split's hard cap and the campaign's
    got = c.charge("c7", DAY, 200, day_hard_cap=1050, split="b", split_hard_cap=420)
    assert (got.billed, got.unbilled) == (100, 100)  # the campaign had 100 left under 1,050
    assert c.split_spent("c7", DAY, "b") == 400


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=st.lists(st.integers(1, 200), min_size=30, max_size=100), cap=st.integers(300, 3000))
def test_concurrent_splits_never_exceed_their_shares_or_the_budget(
    make_counters: Callable[[], SpendCounters], amounts: list[int], cap: int
) -> None:
    c = make_counters()
    campaign = f"s{np.random.default_rng().integers(1 << 40)}"
    shares = {"a": cap // 2, "b": cap // 3, "rest": cap - cap // 2 - cap // 3}

    def work(split: str) -> None:
        for i, amount in enumerate(amounts):
            if i % 2:
                c.reserve(
                    [
                        Hold(
                            campaign,
                            DAY,
                            amount,
                            day_cap=cap,
                            bill_now=True,
                            split=split,
                            split_day_cap=shares[split],
                        )
                    ]
                )
            else:
                c.charge(campaign, DAY, amount, day_hard_cap=cap, split=split, split_hard_cap=shares[split])

    ts = [threading.Thread(target=work, args=(s,)) for s in shares]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for split, share in shares.items():
        assert c.split_spent(campaign, DAY, split) <= share
    assert c.billed(campaign, DAY)[0] <= cap

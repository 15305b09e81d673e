"""AdServer end to end: winners, trace, billing hooks, budget exhaustion, explain, Redis down."""

from __future__ import annotations

import socket
from collections.abc import Callable

import numpy as np

from feedmix.ads.decision.ad_decision import AdServer, AdServerConfig
from feedmix.ads.decision.frequency_caps import FrequencyStore, MemoryFrequencyStore, open_frequency_store
from feedmix.ads.decision.pacing import PacingParams
from feedmix.ads.decision.spend_counters import (
    MemorySpendCounters,
    SpendCounters,
    day_of,
    open_spend_counters,
)
from feedmix.ads.decision.targeting_index import AdRequest
from feedmix.ads.store.model import MICROS, Ad, AdGroup, Campaign, FrequencyCap
from feedmix.ads.store.synthetic_campaigns import random_request, synthetic_snapshot

NOW = 1_376_006_400.0 + 12 * 3600.0
COMMUNITIES = [f"comm{i}" for i in range(15)]


def test_decide_fills_slots_with_priced_distinct_advertisers_and_a_full_trace() -> None:
    snapshot = synthetic_snapshot(400, COMMUNITIES, now=NOW, seed=5)
    server = AdServer(snapshot, counters=MemorySpendCounters(), frequency=MemoryFrequencyStore(), seed=1)
    rng = np.random.default_rng(2)
    served = 0
    for _ in range(30):
        req = random_request(rng, COMMUNITIES, now=NOW)
        d = server.decide(req, 3)
        assert not d.degraded, d.error
        t = d.trace
        assert t["total"] == 400 and sum(t["removed_by_rule"].values()) == 400 - t["eligible"]
        assert t["eligible"] >= t["after_frequency"] >= t["after_pacing"] >= t["winners"]
        assert set(t["timings_ms"]) == {
            "eligibility",
            "frequency",
            "pacing",
            "pctr",
            "knobs",
            "auction",
            "budget",
        }
        assert len({w.campaign.advertiser_id for w in d.winners}) == len(d.winners)
        for w in d.winners:
            assert 0 < w.price_micros <= w.ad_group.bid_micros
            assert server.index.explain(req, w.ad_group.ad_group_id) == []
        assert [w.ecpm for w in d.winners] == sorted((w.ecpm for w in d.winners), reverse=True)
        served += len(d.winners)
    assert served > 0


def _single(budget: int, bid_kind: str = "cpm", cap: FrequencyCap | None = None) -> list:  # type: ignore[type-arg]
    campaign = Campaign("c1", "adv1", "c", "awareness", "daily", budget, NOW - 86_400, NOW + 86_400)
    group = AdGroup("g1", "c1", "g", bid_kind, 10 * MICROS, frequency_cap=cap or FrequencyCap())  # type: ignore[arg-type]
    return [(campaign, group, [Ad("a1", "g1", "h", "b", "https://x")])]


def _req(user: str = "u1", now: float = NOW) -> AdRequest:
    return AdRequest(user_id=user, now=now, brand_safety="safe")


def test_cpm_budget_is_never_exceeded_and_billing_events_add_up(
    make_counters: Callable[[], SpendCounters], make_frequency: Callable[[], FrequencyStore]
) -> None:
    # a $10 CPM alone pays the reserve ($0.50 CPM): 500 micros an impression; budget for 7 of them
    counters = make_counters()
    server = AdServer(_single(3_500), counters=counters, frequency=make_frequency(), seed=0)
    billed = 0
    for i in range(20):
        d = server.decide(_req(f"u{i}"), 1)
        assert not d.degraded, d.error
        for w in d.winners:
            assert w.price_micros == 500_000
            billed += server.record_impression(f"u{i}", w.served, NOW).billed_micros
    assert billed == 3_500 and counters.billed("c1", server.index and w.served.day)[0] == 3_500
    # the controller then sees the cap reached and explain says so
    server.pacer.maybe_update(NOW + 60)
    assert any(r.startswith("budget:") for r in server.explain(_req(), "g1"))


def test_cpc_clicks_bill_up_to_the_tolerance_and_frequency_caps_apply(
    make_counters: Callable[[], SpendCounters], make_frequency: Callable[[], FrequencyStore]
) -> None:
    counters = make_counters()
    server = AdServer(
        _single(1_000_000, "cpc", FrequencyCap(1, 3600.0)),
        counters=counters,
        frequency=make_frequency(),
        config=AdServerConfig(reserve_ecpm=10_000.0, pacing=PacingParams(overspend_tolerance=0.05)),
        seed=0,
    )
    d = server.decide(_req("u1"), 1)
    (w,) = d.winners
    server.record_impression("u1", w.served, NOW)
    # capped now for u1, not for u2
    assert server.decide(_req("u1", NOW + 10), 1).winners == []
    assert any(r.startswith("frequency:") for r in server.explain(_req("u1", NOW + 10), "g1"))
    assert len(server.decide(_req("u2", NOW + 10), 1).winners) == 1
    total = 0
    for _ in range(2000):
        ev = server.record_click(w.served, NOW + 20)
        total += ev.billed_micros
        if ev.billed_micros == 0:
            assert ev.unbilled_micros == w.served.price_micros
            break
    assert 1_000_000 <= total <= 1_050_000


def test_redis_down_means_no_ads_and_no_exception() -> None:
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0?timeout_ms=200&connect_timeout_ms=200"
    snapshot = synthetic_snapshot(50, COMMUNITIES, now=NOW, seed=1)
    for counters, frequency in [
        (open_spend_counters(url), MemoryFrequencyStore()),
        (MemorySpendCounters(), open_frequency_store(url)),
    ]:
        server = AdServer(snapshot, counters=counters, frequency=frequency, seed=0)
        d = server.decide(random_request(np.random.default_rng(0), COMMUNITIES, now=NOW), 3)
        assert d.winners == [] and d.degraded and "ConnectionError" in d.error + str(d.trace)


def test_snapshot_update_swaps_the_index_and_keeps_pacing_state() -> None:
    server = AdServer(_single(10 * MICROS), counters=MemorySpendCounters(), frequency=MemoryFrequencyStore())
    server.pacer.maybe_update(NOW)
    server.pacer.controller.integral[0] = 0.3
    extra = Campaign("c0", "adv0", "c", "traffic", "daily", MICROS, NOW - 86_400, NOW + 86_400)
    group = AdGroup("g0", "c0", "g", "cpc", MICROS)
    index = server.update_snapshot([(extra, group, [Ad("a0", "g0", "h", "b", "u")]), *_single(10 * MICROS)])
    assert index.version == 1 and server.index is index and len(index) == 2
    assert index.campaign_row_of["c1"] == 1
    assert server.pacer.controller.integral[index.campaign_row_of["c1"]] == 0.3


def test_a_background_pacer_refreshes_off_the_request_path() -> None:
    import time as _time

    snapshot = synthetic_snapshot(200, COMMUNITIES, now=NOW, seed=4)
    server = AdServer(snapshot, counters=MemorySpendCounters(), frequency=MemoryFrequencyStore(), seed=1)
    clock = [NOW]
    server.start_pacing_thread(clock=lambda: clock[0])
    try:
        deadline = _time.monotonic() + 30
        while server.pacer.updates < 1 and _time.monotonic() < deadline:
            _time.sleep(0.01)
        assert server.pacer.updates >= 1
        before = server.pacer.updates
        rng = np.random.default_rng(0)
        for _ in range(20):  # requests far in the future do not step the controller themselves
            server.decide(random_request(rng, COMMUNITIES, now=NOW + 10_000), 2)
        assert server.pacer.updates == before
    finally:
        server.close()
    assert server._pacing_thread is None


def test_a_budget_split_arm_spends_only_its_share_and_the_campaign_stays_capped(
    make_counters: Callable[[], SpendCounters], make_frequency: Callable[[], FrequencyStore]
) -> None:
    from feedmix.ads.decision.ad_decision import BudgetSplit

    # 500 micros an impression, a 10,000 budget: arm a may take 60% (12 impressions), arm b 40% (8)
    counters = make_counters()
    server = AdServer(_single(10_000), counters=counters, frequency=make_frequency(), seed=0)
    arms = {"exp:v1:a": 0.6, "exp:v1:b": 0.4}
    billed = dict.fromkeys(arms, 0)
    for i in range(40):
        for key, share in arms.items():
            d = server.decide(_req(f"u{key}{i}"), 1, split=BudgetSplit(key, share))
            for w in d.winners:
                assert (w.served.split, w.served.split_share) == (key, share)
                billed[key] += server.record_impression("u", w.served, NOW).billed_micros
    assert billed == {"exp:v1:a": 6_000, "exp:v1:b": 4_000}
    day = day_of(NOW)
    assert counters.split_spent("c1", day, "exp:v1:a") == 6_000 and counters.billed("c1", day)[0] == 10_000


def test_the_reserve_scale_moves_the_auctions_floor() -> None:
    # a $10 CPM bid against the $0.50 reserve: 25 times the reserve is above the bid and sells nothing
    server = AdServer(
        _single(10_000), counters=MemorySpendCounters(), frequency=MemoryFrequencyStore(), seed=0
    )
    assert not server.decide(_req("x"), 1, reserve_scale=25.0).winners
    (w,) = server.decide(_req("y"), 1, reserve_scale=4.0).winners
    assert w.price_micros == 2_000_000  # alone in the auction, it pays the raised reserve


def test_a_cpc_click_bills_within_its_arms_share(
    make_counters: Callable[[], SpendCounters], make_frequency: Callable[[], FrequencyStore]
) -> None:
    from feedmix.ads.decision.ad_decision import BudgetSplit

    counters = make_counters()
    server = AdServer(_single(1_000_000, "cpc"), counters=counters, frequency=make_frequency(), seed=0)
    d = server.decide(_req("u1"), 1, split=BudgetSplit("exp:v1:a", 0.5))
    (w,) = d.winners
    total = 0
    for _ in range(200):  # clicks far beyond the arm's half of the budget
        total += server.record_click(w.served, NOW).billed_micros
    # the arm's hard cap is half the campaign's budget plus the tolerance
    day_hard, _ = server.pacer.hard_caps(server.index.campaign_row_of["c1"])
    assert total == int(day_hard * 0.5)
    assert counters.split_spent("c1", w.served.day, "exp:v1:a") == total


def test_campaign_knobs_scale_the_arms_bids_and_name_the_campaigns_that_competed() -> None:
    from feedmix.ads.decision.ad_decision import CampaignKnobs
    from feedmix.ads.decision.targeting_index import TargetingIndex

    def campaign(cid: str, bid_usd: int) -> tuple[Campaign, AdGroup, list[Ad]]:
        c = Campaign(cid, f"adv-{cid}", "c", "awareness", "daily", 10**9, NOW - 86_400, NOW + 86_400)
        g = AdGroup(f"g-{cid}", cid, "g", "cpm", bid_usd * MICROS)
        return c, g, [Ad(f"a-{cid}", f"g-{cid}", "h", "b", "https://x")]

    # c3 is outside the experiment: it competes but is nobody's exposure
    snapshot = [campaign("c1", 10), campaign("c2", 8), campaign("c3", 1)]
    server = AdServer(snapshot, counters=MemorySpendCounters(), frequency=MemoryFrequencyStore(), seed=0)
    plain = server.decide(_req("u1"), 1)
    assert [w.campaign.campaign_id for w in plain.winners] == ["c1"] and plain.exposed_campaign_rows.size == 0

    seen: list[TargetingIndex] = []

    def knobs_of(index: TargetingIndex) -> CampaignKnobs:
        seen.append(index)
        rows = [index.campaign_row_of[c] for c in ("c1", "c2", "c3")]
        mult, in_exp = np.ones(len(index.campaign_ids)), np.zeros(len(index.campaign_ids), dtype=bool)
        mult[rows[1]] = 1.5  # c2 in the treatment arm, c1 in the control
        in_exp[rows[:2]] = True
        return CampaignKnobs(mult, in_exp)

    d = server.decide(_req("u2"), 1, knobs=knobs_of)
    assert seen == [server.index]  # asked for the index the decision read
    (w,) = d.winners
    assert w.campaign.campaign_id == "c2"  # 8 x 1.5 = 12 outbids 10
    # it pays what it takes to beat c1's $10 CPM: above its own listed bid, within the scaled one
    assert 8 * MICROS < w.price_micros <= 12 * MICROS
    exposed = sorted(server.index.campaign_ids[r] for r in d.exposed_campaign_rows)
    assert exposed == ["c1", "c2"] and d.trace["exposed_campaigns"] == 2

"""Frequency caps at the window edges, on memory and Redis."""

from __future__ import annotations

from collections.abc import Callable

from feedmix.ads.decision.frequency_caps import FrequencyStore, capped_rows
from feedmix.ads.decision.targeting_index import TargetingIndex
from feedmix.ads.store.model import MICROS, Ad, AdGroup, Campaign, FrequencyCap

T0 = 1_376_000_000.0


def _index() -> TargetingIndex:
    campaign = Campaign("c1", "adv", "c", "traffic", "daily", 100 * MICROS, 0.0, 2e9)
    groups = [
        AdGroup("capped2", "c1", "g", "cpc", MICROS, frequency_cap=FrequencyCap(2, 100.0)),
        AdGroup("uncapped", "c1", "g", "cpc", MICROS),
    ]
    return TargetingIndex.build(
        [(campaign, g, [Ad(f"a-{g.ad_group_id}", g.ad_group_id, "h", "b", "u")]) for g in groups]
    )


def test_sliding_window_edges(make_frequency: Callable[[], FrequencyStore]) -> None:
    store, index = make_frequency(), _index()
    for ts in (T0, T0 + 10.0):
        store.record("u1", "capped2", ts, 2, 100.0)
    for _ in range(5):
        store.record("u1", "uncapped", T0, 0, 86_400.0)  # no cap: nothing stored
    assert capped_rows(index, store.recent("u1"), T0 + 10.0).tolist() == [0]
    assert capped_rows(index, store.recent("u1"), T0 + 99.999).tolist() == [0]
    # at ts + window exactly the first impression stops counting: one left, under the cap of two
    assert capped_rows(index, store.recent("u1"), T0 + 100.0).tolist() == []
    assert capped_rows(index, store.recent("u2"), T0).tolist() == []
    # a third impression after the first expired: capped again until the second one leaves
    store.record("u1", "capped2", T0 + 100.0, 2, 100.0)
    assert capped_rows(index, store.recent("u1"), T0 + 109.999).tolist() == [0]
    assert capped_rows(index, store.recent("u1"), T0 + 110.0).tolist() == []
    # only the last max_impressions timestamps are kept
    assert len(store.recent("u1")["capped2"]) == 2
    assert "uncapped" not in store.recent("u1")

"""The targeting index against a brute-force reference, rule counts, and explain()."""

from __future__ import annotations

import numpy as np
import pytest

from feedmix.ads.decision.targeting_index import RULES, AdRequest, TargetingIndex, hour_of_week
from feedmix.ads.store.model import MICROS, Ad, AdGroup, Campaign, Schedule, Targeting
from feedmix.ads.store.synthetic_campaigns import random_request, synthetic_snapshot

COMMUNITIES = [f"comm{i}" for i in range(30)]
NOW = 1_376_000_000.0  # a Thursday in Aug 2013


def low(xs: tuple[str, ...]) -> set[str]:
    return {x.lower() for x in xs}


def reference_eligible(campaign: Campaign, group: AdGroup, ads: list[Ad], req: AdRequest) -> bool:
    """The rules of targeting_index's docstring, one ad group at a time, in plain Python."""
    t = group.targeting
    if campaign.status != "active" or group.status != "active" or not any(a.status == "active" for a in ads):
        return False
    if not (campaign.start_ts <= req.now < campaign.end_ts):
        return False
    if group.schedule.hours_of_week and hour_of_week(req.now) not in group.schedule.hours_of_week:
        return False
    if req.nsfw_posts or (req.nsfw_community and t.exclude_nsfw):
        return False
    allowed = {
        "safe": {"strict", "standard", "relaxed"},
        "unrated": {"standard", "relaxed"},
        "unsafe": {"relaxed"},
    }
    if group.safety_tier not in allowed[req.brand_safety]:
        return False
    if t.communities and not low(t.communities) & low(req.communities):
        return False
    if low(t.exclude_communities) & low(req.communities):
        return False
    if t.keywords and not low(t.keywords) & low(req.keywords):
        return False
    if low(t.exclude_keywords) & low(req.keywords):
        return False
    if t.geos and req.geo.lower() not in low(t.geos):
        return False
    if t.devices and req.device.lower() not in low(t.devices):
        return False
    if t.interests and not low(t.interests) & low(req.interests):
        return False
    if t.intents and not low(t.intents) & low(req.intents):
        return False
    if t.categories and not low(t.categories) & low(req.categories):
        return False
    return not (t.products and not low(t.products) & low(req.products))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eligible_matches_brute_force_on_random_groups_and_requests(seed: int) -> None:
    snapshot = synthetic_snapshot(
        600, COMMUNITIES, now=NOW, seed=seed, inactive_share=0.1, contextual_share=0.3
    )
    assert any(g.targeting.intents for _, g, _ in snapshot) and any(
        g.targeting.products for _, g, _ in snapshot
    )
    index = TargetingIndex.build(snapshot)
    rng = np.random.default_rng(seed + 100)
    for i in range(60):
        at = NOW + float(rng.integers(-40, 40)) * 86_400 + i * 3600
        req = random_request(rng, COMMUNITIES, now=at, contextual=True)
        if i % 7 == 0:
            req = AdRequest(**{**req.__dict__, "nsfw_community": True})
        if i % 11 == 0:
            req = AdRequest(**{**req.__dict__, "brand_safety": "unsafe"})
        rows, removed = index.eligible(req)
        expected = [r for r, (c, g, a) in enumerate(snapshot) if reference_eligible(c, g, list(a), req)]
        assert rows.tolist() == expected
        assert list(removed) == list(RULES)
        assert sum(removed.values()) == len(index) - len(rows)
        # explain() agrees: eligible groups have no reason, others at least one
        for r in rng.choice(len(snapshot), size=5, replace=False).tolist():
            reasons = index.explain(req, index.ad_group_ids[r])
            assert (reasons == []) == (r in set(expected)), reasons


def _one(targeting: Targeting, **group_kw: object) -> list[tuple[Campaign, AdGroup, list[Ad]]]:
    campaign = Campaign(
        "c1", "adv1", "c", "traffic", "daily", 100 * MICROS, NOW - 10 * 86_400, NOW + 10 * 86_400
    )
    group = AdGroup("g1", "c1", "g", "cpc", MICROS, targeting=targeting, **group_kw)  # type: ignore[arg-type]
    return [(campaign, group, [Ad("a1", "g1", "h", "b", "https://x")])]


def test_each_rule_counts_what_it_removed_and_explain_names_every_reason() -> None:
    snapshot = _one(
        Targeting(communities=("Python",), geos=("US",), exclude_keywords=("crypto",)),
        safety_tier="strict",
        schedule=Schedule((0, 1, 2)),
    )
    index = TargetingIndex.build(snapshot)
    req = AdRequest(
        user_id="u", now=NOW, communities=("gaming",), keywords=("crypto",), geo="DE", brand_safety="unrated"
    )
    rows, removed = index.eligible(req)
    assert rows.size == 0
    # rules run in order; the first failing one gets the count
    assert removed["schedule"] == 1 and sum(removed.values()) == 1
    reasons = index.explain(req, "g1")
    assert [r.split(":")[0] for r in reasons] == [
        "schedule",
        "brand_safety",
        "community",
        "keyword_exclusion",
        "geo",
    ]
    assert index.explain(req, "nope")[0].startswith("unknown ad group")

    ok = AdRequest(
        user_id="u",
        now=NOW - NOW % 604_800 + 4 * 86_400 + 3600,
        communities=("python",),
        geo="us",
        brand_safety="safe",
    )
    assert hour_of_week(ok.now) == 1
    assert index.eligible(ok)[0].tolist() == [0] and index.explain(ok, "g1") == []


def test_nsfw_posts_remove_everything_and_nsfw_community_only_excluding_groups() -> None:
    snapshot = _one(Targeting(exclude_nsfw=False)) + [
        (c, AdGroup("g2", "c1", "g2", "cpm", MICROS), [Ad("a2", "g2", "h", "b", "https://x")])
        for c, _, _ in _one(Targeting())
    ]
    index = TargetingIndex.build(snapshot)
    base = {"user_id": "u", "now": NOW, "brand_safety": "safe"}
    assert index.eligible(AdRequest(**base, nsfw_posts=True))[1]["nsfw"] == 2  # type: ignore[arg-type]
    rows, removed = index.eligible(AdRequest(**base, nsfw_community=True))  # type: ignore[arg-type]
    assert rows.tolist() == [0] and removed["nsfw"] == 1
    assert "excludes NSFW" in index.explain(AdRequest(**base, nsfw_community=True), "g2")[0]  # type: ignore[arg-type]


def test_paused_and_adless_groups_are_removed_by_status() -> None:
    snapshot = _one(Targeting(), status="paused")
    index = TargetingIndex.build(snapshot)
    rows, removed = index.eligible(AdRequest(user_id="u", now=NOW, brand_safety="safe"))
    assert rows.size == 0 and removed["status"] == 1
    assert index.explain(AdRequest(user_id="u", now=NOW), "g1") == ["status: ad group is paused"]


def test_build_rejects_duplicates_and_reports_size() -> None:
    snapshot = _one(Targeting())
    with pytest.raises(ValueError, match="duplicate"):
        TargetingIndex.build(snapshot + snapshot)
    index = TargetingIndex.build(synthetic_snapshot(200, COMMUNITIES, now=NOW))
    assert index.nbytes() > 0 and index.build_seconds >= 0


def test_contextual_rules_serve_on_pages_with_the_signals_and_explain_says_why_not() -> None:
    t = Targeting(intents=("recommendation_request",), categories=("Computers",), products=("sennheiser",))
    index = TargetingIndex.build(_one(t))
    page = AdRequest(
        "u1",
        NOW,
        intents=("none", "recommendation_request"),
        categories=("Computers",),
        products=("sennheiser", "hd600"),
        brand_safety="safe",
    )
    rows, removed = index.eligible(page)
    assert rows.tolist() == [0] and removed["intent"] == removed["category"] == removed["product"] == 0
    bare = AdRequest("u1", NOW, brand_safety="safe")  # a page of unlabelled posts
    rows, removed = index.eligible(bare)
    assert rows.tolist() == [] and removed["intent"] == 1
    reasons = index.explain(bare, "g1")
    assert [r.split(":")[0] for r in reasons] == ["intent", "category", "product"]

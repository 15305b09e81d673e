"""Assignment: layers exclude inside and overlap across, holdouts hold, ramps keep, versions reshuffle."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedmix.experiments.assignment import Assigner, Visitor
from feedmix.experiments.model import Targeting
from tests.experiments.factories import make_experiment

USERS = [f"u{i:05d}" for i in range(20_000)]


def _running(eid: str, start: float, allocation: float, **kw: object) -> object:
    return make_experiment(eid, status="running", range_start=start, allocation=allocation, **kw)  # type: ignore[arg-type]


def _assign(assigner: Assigner, user: str, surface: str = "home", **kw: object) -> dict[str, str]:
    v = Visitor(user, f"r-{user}", known=bool(kw.get("known", True)))
    return {a.experiment_id: a.variant for a in assigner.assign(surface, v)}


def test_experiments_in_one_layer_never_share_a_unit_and_fill_their_allocation() -> None:
    a = _running("exp-a", 0.0, 0.3, overrides={"ranker.w_hide": 2.0})
    b = _running("exp-b", 0.3, 0.5, overrides={"ranker.w_click": 2.0})
    assigner = Assigner([a, b])  # type: ignore[list-item]
    seen = [_assign(assigner, u) for u in USERS]
    assert not any(len(s) > 1 for s in seen)
    share_a = sum("exp-a" in s for s in seen) / len(USERS)
    share_b = sum("exp-b" in s for s in seen) / len(USERS)
    assert abs(share_a - 0.3) < 0.015 and abs(share_b - 0.5) < 0.015


def test_layers_overlap_independently() -> None:
    a = _running("exp-a", 0.0, 0.5, layer="ranking")
    b = _running("exp-b", 0.0, 0.5, layer="sources", overrides={"trending.limit": 50})
    assigner = Assigner([a, b])  # type: ignore[list-item]
    seen = [_assign(assigner, u) for u in USERS]
    both = sum(len(s) == 2 for s in seen) / len(USERS)
    assert abs(both - 0.25) < 0.015  # independent hashes: 0.5 x 0.5
    # and the variant in one layer says nothing about the variant in the other
    pairs = Counter((s["exp-a"], s["exp-b"]) for s in seen if len(s) == 2)
    assert min(pairs.values()) / max(pairs.values()) > 0.85


def test_the_global_holdout_sees_no_experiment() -> None:
    a = _running("exp-a", 0.0, 1.0)
    assigner = Assigner([a], {"global": 0.1})  # type: ignore[list-item]
    held = [u for u in USERS if assigner.in_global_holdout(u)]
    assert abs(len(held) / len(USERS) - 0.1) < 0.01
    assert all(_assign(assigner, u) == {} for u in held)
    assert all(_assign(assigner, u) != {} for u in USERS if u not in set(held))


def test_a_layer_holdout_keeps_its_slice_free() -> None:
    a = _running("exp-a", 0.2, 0.8)
    assigner = Assigner([a], {"ranking": 0.2})  # type: ignore[list-item]
    share = sum(bool(_assign(assigner, u)) for u in USERS) / len(USERS)
    assert abs(share - 0.8) < 0.015


def test_ramping_the_coverage_keeps_every_assigned_unit_in_its_variant() -> None:
    ramps = [0.02, 0.1, 1.0]
    seen = []
    for c in ramps:
        assigner = Assigner([_running("exp-a", 0.0, 0.5, coverage=c)])  # type: ignore[list-item]
        seen.append({u: _assign(assigner, u).get("exp-a") for u in USERS})
    for before, after in itertools.pairwise(seen):
        moved = [u for u, v in before.items() if v is not None and after[u] != v]
        assert moved == []
    counts = [sum(v is not None for v in s.values()) / len(USERS) for s in seen]
    assert abs(counts[0] - 0.01) < 0.005 and abs(counts[1] - 0.05) < 0.008 and abs(counts[2] - 0.5) < 0.015


def test_a_new_bucket_version_reshuffles_on_purpose() -> None:
    v1 = Assigner([_running("exp-a", 0.0, 1.0, bucket_version=1)])  # type: ignore[list-item]
    v2 = Assigner([_running("exp-a", 0.0, 1.0, bucket_version=2)])  # type: ignore[list-item]
    same = np.mean([_assign(v1, u)["exp-a"] == _assign(v2, u)["exp-a"] for u in USERS])
    assert abs(same - 0.5) < 0.02  # independent re-draw of a 50/50 split


def test_variant_weights_are_respected() -> None:
    assigner = Assigner([_running("exp-a", 0.0, 1.0, weights=(0.8, 0.2))])  # type: ignore[list-item]
    treated = np.mean([_assign(assigner, u)["exp-a"] == "treatment" for u in USERS])
    assert abs(treated - 0.2) < 0.012


def test_targeting_new_returning_communities_and_nsfw() -> None:
    new_only = _running("exp-new", 0.0, 1.0, targeting=Targeting(user="new"))
    assigner = Assigner([new_only])  # type: ignore[list-item]
    assert assigner.assign("home", Visitor("u1", "r1", known=False))
    assert not assigner.assign("home", Visitor("u1", "r1", known=True))
    ids = {"pics": 3, "gaming": 7}
    by_community = _running(
        "exp-c", 0.0, 1.0, layer="other", targeting=Targeting(communities=("gaming",), nsfw_opt_in=False)
    )
    assigner = Assigner([by_community], community_id=ids.get)  # type: ignore[list-item]
    assert assigner.assign("home", Visitor("u1", "r1", True, frozenset({7, 9})))
    assert not assigner.assign("home", Visitor("u1", "r1", True, frozenset({3})))
    assert not assigner.assign("home", Visitor("u1", "r1", True, frozenset({7}), allow_nsfw=True))


def test_only_the_surfaces_of_an_experiment_are_assigned() -> None:
    assigner = Assigner([_running("exp-a", 0.0, 1.0, surfaces=("community",))])  # type: ignore[list-item]
    assert not assigner.assign("home", Visitor("u1", "r1", True))
    assert assigner.assign("community", Visitor("u1", "r1", True))


def test_request_unit_experiments_hash_the_request() -> None:
    assigner = Assigner([_running("exp-r", 0.0, 1.0, unit="request")])  # type: ignore[list-item]
    variants = {assigner.assign("home", Visitor("u1", f"req{i}", True))[0].variant for i in range(200)}
    assert variants == {"control", "treatment"}  # one user, both arms over requests
    assert assigner.assign("home", Visitor("u1", "req1", True))[0].unit == "req1"


def test_drafts_and_stopped_experiments_assign_nobody() -> None:
    exps = [make_experiment("d"), _running("s", 0.0, 1.0).replace(status="stopped")]  # type: ignore[attr-defined]
    assigner = Assigner(exps)
    assert len(assigner) == 0 and assigner.assign("home", Visitor("u1", "r1", True)) == []


@given(st.lists(st.floats(0.05, 0.3), min_size=1, max_size=4), st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_any_packing_of_a_layer_assigns_each_unit_at_most_once(allocations: list[float], salt: int) -> None:
    exps, start = [], 0.0
    for i, a in enumerate(allocations):
        if start + a > 1:
            break
        exps.append(_running(f"e{i}", start, a, overrides={"trending.limit": 10 + i}))
        start += a
    assigner = Assigner(exps)  # type: ignore[arg-type]
    for u in USERS[:500]:
        got = assigner.assign("home", Visitor(f"{u}-{salt}", "r", True))
        assert len(got) <= 1


def test_a_budget_split_plan_gives_each_arm_its_traffic_share_of_the_budget() -> None:
    split = _running(
        "bs", 0.0, 0.5, coverage=0.8, weights=(0.75, 0.25), overrides={"ad_slots.reserve_scale": 2.0}
    )
    assigner = Assigner([split.replace(kind="budget_split")], {"global": 0.1})  # type: ignore[attr-defined]
    plan = assigner.budget_splits["home"]
    reach = 0.5 * 0.8 * 0.9
    assert plan.shares == pytest.approx({"control": 0.75 * reach, "treatment": 0.25 * reach})
    assert plan.rest_share == pytest.approx(1 - reach)
    # the shares match the traffic each key gets, measured over many users
    counts: Counter[str] = Counter()
    for u in USERS:
        key, _ = plan.for_assignments(assigner.assign("home", Visitor(u, "r", True)))
        counts[key] += 1
    assert counts["bs:v1:control"] / len(USERS) == pytest.approx(plan.shares["control"], abs=0.01)
    assert counts["bs:v1:rest"] / len(USERS) == pytest.approx(plan.rest_share, abs=0.01)
    assert "community" not in assigner.budget_splits

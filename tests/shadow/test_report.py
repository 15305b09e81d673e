from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from feedmix.shadow.record import AdWinner, ArmOutput, ShadowRecord
from feedmix.shadow.report import (
    GROUPS,
    STATIC_METRICS,
    compare,
    family_spec,
    is_known_metric,
    rows,
    to_markdown,
)

SOURCES = ("joined", "trending", "fresh", "related")
ROW_FIELDS = {"group", "kind", "unit", "closer", "description", "baseline", "candidate", "noise", "n"}


def production(request_id: str, rng: np.random.Generator, n: int = 25) -> ArmOutput:
    items = tuple(f"p{k}" for k in rng.choice(500, size=n, replace=False))
    scores = tuple(sorted(rng.normal(0.0, 1.0, n).tolist(), reverse=True))
    return ArmOutput(
        request_id=request_id,
        arm="production",
        item_ids=items,
        scores=scores,
        sources=tuple(rng.choice(SOURCES, size=n).tolist()),
        communities=tuple(f"c{k}" for k in rng.integers(0, 10, n)),
        nsfw=tuple(bool(x) for x in rng.random(n) < 0.05),
        predictions={"click": tuple(rng.random(n).tolist())},
        features={"age_h": tuple(rng.exponential(10.0, n).tolist())},
        ads=(
            AdWinner("ag1", "c1", slot=3, price_micros=int(rng.integers(1000, 3000))),
            AdWinner("ag2", "c2", slot=9, price_micros=int(rng.integers(1000, 3000))),
        ),
        page_size=n + 2,
        latency_ms=float(rng.gamma(5.0, 2.0)),
        cpu_ms=float(rng.gamma(4.0, 2.0)),
    )


def as_arm(base: ArmOutput, name: str, **over: Any) -> ArmOutput:
    return replace(base, arm=name, **over)


def jitter(base: ArmOutput, rng: np.random.Generator) -> ArmOutput:
    """Production rerun with another seed: the tail of the page reorders, latency varies a little."""
    order = list(range(len(base.item_ids)))
    tail = order[-6:]
    rng.shuffle(tail)
    order[-6:] = tail
    return as_arm(
        base,
        "noise",
        item_ids=tuple(base.item_ids[i] for i in order),
        latency_ms=base.latency_ms * float(rng.uniform(0.95, 1.05)),
    )


def reshuffle(base: ArmOutput, rng: np.random.Generator) -> ArmOutput:
    """A different model: reorders the whole page, swaps in new posts, moves scores up."""
    items = list(base.item_ids)
    rng.shuffle(items)
    items[-8:] = [f"new{k}-{base.request_id}" for k in range(8)]
    return as_arm(
        base,
        "candidate",
        item_ids=tuple(items),
        scores=tuple(s + 1.0 for s in base.scores),
        latency_ms=base.latency_ms + 3.0,
    )


def records(n: int = 200, candidate: str = "reshuffle", seed: int = 7) -> list[ShadowRecord]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        rid = f"r{i}"
        prod = production(rid, rng)
        cand = reshuffle(prod, rng) if candidate == "reshuffle" else as_arm(prod, "candidate")
        arms = {"production": prod, "candidate": cand, "noise": jitter(prod, rng)}
        out.append(ShadowRecord(rid, f"u{i % 50}", "home", 1_700_000_000.0 + i, arms))
    return out


def value(report: dict[str, Any], metric: str, side: str = "candidate") -> Any:
    return report["metrics"][metric][side]


def test_a_candidate_identical_to_production_shows_no_difference() -> None:
    report = compare(records(candidate="identical"))
    assert report["requests"] == 200 and report["requests_with_noise"] == 200
    for metric in ("rbo", "rbo_p50", "jaccard@10", "jaccard@25", "kendall_tau", "top10_kept"):
        assert value(report, metric) == pytest.approx(1.0), metric
    assert value(report, "ad_winner_agreement") == 1.0
    for metric in ("score_psi", "score_js", "source_mix_js", "community_mix_js", "feature_psi:age_h"):
        assert value(report, metric) == 0.0, metric
    for metric in (
        "price_delta_micros",
        "revenue_per_page_delta",
        "latency_p50_delta_ms",
        "latency_p99_delta_ms",
        "cpu_per_request_delta_ms",
        "error_rate_delta",
        "nsfw_share_delta",
        "ad_load_delta",
        "community_concentration_delta",
    ):
        assert value(report, metric) == 0.0, metric
    # the residual is the weight of the unseen ranks beyond a 25-item page: small, not 0
    assert 0.0 < value(report, "rbo_residual") < 0.02


def test_a_changed_candidate_reads_against_the_noise() -> None:
    report = compare(records())
    # the noise arm only reorders the bottom of the page
    assert value(report, "rbo", "noise") > 0.97
    assert value(report, "top10_kept", "noise") == 1.0
    assert value(report, "rbo") < value(report, "rbo", "noise") - 0.2
    assert value(report, "jaccard@25") == pytest.approx(17 / 33)
    assert value(report, "score_psi") > 0.25 > value(report, "score_psi", "noise")
    assert value(report, "latency_p50_delta_ms") == pytest.approx(3.0)
    assert abs(value(report, "latency_p50_delta_ms", "noise")) < 1.0
    assert value(report, "feature_psi:age_h") == 0.0  # the candidate kept the features
    assert value(report, "prediction_psi:click") == 0.0


def _arm(name: str, items: str, **over: Any) -> ArmOutput:
    fields: dict[str, Any] = {
        "request_id": "r",
        "arm": name,
        "item_ids": tuple(items),
        "scores": tuple(float(len(items) - k) for k in range(len(items))),
        "sources": tuple("joined" for _ in items),
        "communities": tuple("a" for _ in items),
        "nsfw": tuple(False for _ in items),
        "page_size": len(items),
    }
    fields.update(over)
    return ArmOutput(**fields)


def _rec(rid: str, *arms: ArmOutput) -> ShadowRecord:
    return ShadowRecord(rid, "u", "home", 0.0, {a.arm: replace(a, request_id=rid) for a in arms})


def test_ads_content_and_cost_by_hand() -> None:
    ad = AdWinner
    recs = [
        _rec(
            "r1",
            _arm(
                "production",
                "abcd",
                ads=(ad("g1", "c", 1, 1000), ad("g2", "c", 4, 2000)),
                page_size=6,
                communities=("x", "x", "y", "y"),
                nsfw=(True, False, False, False),
                latency_ms=10.0,
                cpu_ms=5.0,
            ),
            _arm(
                "candidate",
                "abcd",
                # same group at slot 1 (price +500), another group at slot 4, one more ad
                ads=(ad("g1", "c", 1, 1500), ad("g9", "c", 4, 100), ad("g3", "c", 5, 400)),
                page_size=7,
                communities=("x", "x", "x", "x"),
                latency_ms=12.0,
                cpu_ms=6.0,
                degraded=True,
            ),
        ),
        _rec(
            "r2",
            _arm("production", "efgh", ads=(ad("g1", "c", 2, 1000),), page_size=5, latency_ms=20.0),
            _arm("candidate", "efgh", ads=(), page_size=4, latency_ms=30.0, cpu_ms=8.0),
        ),
    ]
    r = compare(recs)
    m = r["metrics"]
    assert m["ad_winner_agreement"]["candidate"] == pytest.approx(1 / 3)  # 1 of production's 3 slots
    assert m["price_delta_micros"]["candidate"] == pytest.approx(500.0)
    assert m["price_delta_micros"]["n"]["candidate"] == 1
    # revenue: production (3000 + 1000) / 2, candidate (2000 + 0) / 2
    assert m["revenue_per_page"]["baseline"] == pytest.approx(2000.0)
    assert m["revenue_per_page"]["candidate"] == pytest.approx(1000.0)
    assert m["revenue_per_page_delta"]["candidate"] == pytest.approx(-1000.0)
    assert m["ad_load"]["baseline"] == pytest.approx((2 / 6 + 1 / 5) / 2)
    assert m["ad_load"]["candidate"] == pytest.approx((3 / 7 + 0) / 2)
    # Herfindahl: r1 production 0.5^2 + 0.5^2, candidate 1; r2 both 1
    assert m["community_concentration"]["baseline"] == pytest.approx(0.75)
    assert m["community_concentration"]["candidate"] == pytest.approx(1.0)
    assert m["community_concentration_delta"]["candidate"] == pytest.approx(0.25)
    assert m["nsfw_share"]["baseline"] == pytest.approx(1 / 8)
    assert m["nsfw_share_delta"]["candidate"] == pytest.approx(-1 / 8)
    assert m["latency_p50_ms"]["baseline"] == pytest.approx(15.0)
    assert m["latency_p50_delta_ms"]["candidate"] == pytest.approx(21.0 - 15.0)
    # cpu: production (5 + 0) / 2, candidate (6 + 8) / 2
    assert m["cpu_per_request_delta_ms"]["candidate"] == pytest.approx(4.5)
    assert m["degraded_rate"]["candidate"] == 0.5 and m["degraded_rate_delta"]["candidate"] == 0.5
    assert m["source_share:joined"]["baseline"] == 1.0 and m["source_share:joined"]["candidate"] == 1.0
    # no noise arm at all: every noise value is missing, never 0
    assert r["requests_with_noise"] == 0
    assert all(row["noise"] is None and row["n"]["noise"] == 0 for row in m.values())


def test_errored_arms_count_as_errors_not_as_disagreement() -> None:
    ok = [_rec(f"r{i}", _arm("production", "abcd"), _arm("candidate", "abcd")) for i in range(3)]
    failed = _rec("rx", _arm("production", "abcd"), _arm("candidate", "", error="deadline exceeded"))
    r = compare([*ok, failed])
    assert r["requests"] == 4 and r["ok_requests"]["candidate"] == 3
    assert value(r, "rbo") == pytest.approx(1.0)
    assert value(r, "error_rate") == 0.25
    assert r["metrics"]["error_rate"]["baseline"] == 0.0
    assert value(r, "error_rate_delta") == 0.25


def test_records_without_both_arms_are_left_out() -> None:
    recs = [
        _rec("r1", _arm("production", "abc"), _arm("candidate", "abc")),
        _rec("r2", _arm("production", "abc")),
        _rec("r3", _arm("candidate", "abc"), _arm("noise", "abc")),
    ]
    r = compare(recs)
    assert (r["records"], r["requests"], r["requests_with_noise"]) == (3, 1, 0)


def test_columns_one_arm_lacks_are_missing_not_zero() -> None:
    base = _arm("production", "abc", features={"age_h": (1.0, 2.0, 3.0), "only_prod": (1.0, 1.0, 1.0)})
    cand = _arm(
        "candidate", "abc", features={"age_h": (1.0, 2.0, 30.0)}, predictions={"click": (0.1, 0.2, 0.3)}
    )
    r = compare([_rec("r1", base, cand)])
    assert value(r, "feature_psi:age_h") > 0.0
    assert value(r, "feature_psi:only_prod") is None
    assert value(r, "prediction_psi:click") is None
    assert value(r, "ad_winner_agreement") is None  # no ads anywhere
    assert value(r, "price_delta_micros") is None


def test_the_report_is_json_ready_and_renders_generically() -> None:
    report = compare(records(60))
    json.dumps(report, allow_nan=False)
    names = list(report["metrics"])
    assert {s.name for s in STATIC_METRICS} <= set(names)
    for name, row in report["metrics"].items():
        assert set(row) == ROW_FIELDS, name
        assert is_known_metric(name)
        for side in ("baseline", "candidate", "noise"):
            assert row[side] is None or isinstance(row[side], float), (name, side)
        if row["kind"] != "level":
            assert row["baseline"] is None
    # display order: groups contiguous, in GROUPS order; a feature's PSI just before its JS
    groups = [row["group"] for row in report["metrics"].values()]
    order = [g for g, _ in GROUPS]
    assert groups == sorted(groups, key=order.index)
    assert names.index("feature_js:age_h") == names.index("feature_psi:age_h") + 1
    assert [r["metric"] for r in rows(report)] == names


def test_markdown() -> None:
    report = compare(records(60))
    md = to_markdown(report)
    for name in report["metrics"]:
        assert f"| {name} |" in md
    for _, title in GROUPS:
        assert f"## {title}" in md
    assert "| production | candidate | noise |" in md
    score_psi = next(line for line in md.splitlines() if line.startswith("| score_psi |"))
    assert "**" in score_psi  # a major shift is marked
    # missing values render as a dash
    bare = compare([_rec("r1", _arm("production", "abc"), _arm("candidate", "abc"))])
    assert "| ad_winner_agreement | – | – | – |" in to_markdown(bare)


def test_an_empty_input_gives_an_empty_report() -> None:
    r = compare([])
    assert r["requests"] == 0
    assert all(row["candidate"] is None for row in r["metrics"].values())
    to_markdown(r)


def test_metric_names() -> None:
    assert is_known_metric("rbo") and is_known_metric("feature_psi:anything")
    assert not is_known_metric("rbo_typo") and not is_known_metric("feature_psi:")
    spec = family_spec("prediction_js:click")
    assert spec is not None and spec.unit == "bits" and "click" in spec.description


def test_a_few_thousand_requests_compare_quickly() -> None:
    # not a benchmark: only a guard against per-request work that grows with the number of requests
    report = compare(records(2000, candidate="identical", seed=11))
    assert report["requests"] == 2000

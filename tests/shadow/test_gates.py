from __future__ import annotations

import json
from typing import Any

import pytest

from feedmix.shadow.gates import GateResult, evaluate, validate_gates
from feedmix.shadow.record import AdWinner, ArmOutput, ShadowRecord
from feedmix.shadow.report import compare


def report(requests: int = 100, **metrics: tuple[float | None, float | None]) -> dict[str, Any]:
    """A minimal report: metric -> (candidate, noise)."""
    return {
        "requests": requests,
        "metrics": {name: {"candidate": c, "noise": n} for name, (c, n) in metrics.items()},
    }


REPORT = report(
    rbo=(0.85, 0.95),
    latency_p99_delta_ms=(3.0, 0.2),
    error_rate_delta=(0.0005, 0.0),
    score_psi=(0.05, 0.03),
    ad_winner_agreement=(None, None),
)


def test_passing_gates() -> None:
    result = evaluate(
        REPORT,
        {
            "rbo": {"min": 0.8, "min_vs_noise": 0.85},
            "latency_p99_delta_ms": {"max": 5},
            "error_rate_delta": {"max": 0.001},
            "score_psi": {"max": 0.1, "max_vs_noise": 2},
        },
    )
    assert result.passed
    assert len(result.checks) == 6 and result.failures == []
    by_bound = {(c.metric, c.bound): c for c in result.checks}
    rel = by_bound[("rbo", "min_vs_noise")]
    assert rel.limit == pytest.approx(0.85 * 0.95) and rel.value == 0.85
    assert "0.85 x noise 0.95" in rel.message


def test_failing_gates_say_which_and_why() -> None:
    result = evaluate(
        REPORT,
        {"rbo": {"min": 0.9}, "latency_p99_delta_ms": {"max": 5}, "score_psi": {"max_vs_noise": 1.5}},
    )
    assert not result.passed
    assert [(c.metric, c.bound) for c in result.failures] == [("rbo", "min"), ("score_psi", "max_vs_noise")]
    rbo = result.failures[0]
    assert rbo.value == 0.85 and rbo.limit == 0.9
    assert rbo.message == "rbo: 0.85 >= 0.9: FAILED"


def test_relative_to_noise_fails_when_the_candidate_is_further_than_the_noise_allows() -> None:
    # candidate RBO 0.85 against a noise RBO of 0.95: at least 90% of the noise means >= 0.855
    result = evaluate(REPORT, {"rbo": {"min_vs_noise": 0.9}})
    assert not result.passed
    assert result.checks[0].limit == pytest.approx(0.855)


def test_a_gate_on_an_unknown_metric_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="'rbo_typo'"):
        evaluate(REPORT, {"rbo_typo": {"min": 0.5}})
    with pytest.raises(ValueError, match="'nonsense:x'"):
        validate_gates({"nonsense:x": {"max": 1}})


@pytest.mark.parametrize(
    ("gates", "message"),
    [
        ({"rbo": {"minimum": 0.5}}, r"unknown keys \['minimum'\]"),
        ({"rbo": {"allow_missing": True}}, "no bound"),
        ({"rbo": {"min": "0.5"}}, "min must be a finite number"),
        ({"rbo": {"min": float("nan")}}, "min must be a finite number"),
        ({"rbo": {"min": True}}, "min must be a finite number"),
        ({"rbo": {"min": 0.5, "allow_missing": "yes"}}, "allow_missing must be true or false"),
        ({"rbo": 0.5}, "expected a mapping"),
        ({}, "no gates"),
    ],
)
def test_malformed_gates_are_refused(gates: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_gates(gates)


def test_a_missing_value_fails_closed() -> None:
    result = evaluate(REPORT, {"ad_winner_agreement": {"min": 0.7}})
    assert not result.passed
    check = result.checks[0]
    assert check.value is None and not check.passed
    assert "no candidate value" in check.message and "fails closed" in check.message


def test_a_missing_value_passes_when_the_gate_allows_it() -> None:
    result = evaluate(REPORT, {"ad_winner_agreement": {"min": 0.7, "allow_missing": True}})
    assert result.passed
    assert "allowed" in result.checks[0].message


def test_a_missing_noise_value_fails_a_relative_bound() -> None:
    r = report(rbo=(0.9, None))
    result = evaluate(r, {"rbo": {"min": 0.8, "min_vs_noise": 0.9}})
    assert [c.passed for c in result.checks] == [True, False]
    assert "no noise value" in result.checks[1].message


def test_a_per_column_metric_the_report_lacks_is_missing_not_unknown() -> None:
    result = evaluate(REPORT, {"feature_psi:ctr_7d": {"max": 0.25}})
    assert not result.passed and "no candidate value" in result.checks[0].message
    assert evaluate(REPORT, {"feature_psi:ctr_7d": {"max": 0.25, "allow_missing": True}}).passed


def test_a_report_over_no_requests_never_passes() -> None:
    result = evaluate(report(0), {"ad_winner_agreement": {"min": 0.7, "allow_missing": True}})
    assert not result.passed
    assert result.failures[0].metric == "requests"


def test_the_result_is_json_ready() -> None:
    result = evaluate(REPORT, {"rbo": {"min": 0.8}})
    assert isinstance(result, GateResult)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["passed"] is True
    assert data["checks"][0]["metric"] == "rbo"


def test_gates_over_a_real_report() -> None:
    def arm(name: str, items: str, latency: float, ads: tuple[AdWinner, ...] = ()) -> ArmOutput:
        n = len(items)
        return ArmOutput(
            request_id="r",
            arm=name,
            item_ids=tuple(items),
            scores=tuple(float(n - k) for k in range(n)),
            sources=("joined",) * n,
            communities=("a",) * n,
            nsfw=(False,) * n,
            page_size=n + len(ads),
            latency_ms=latency,
        )

    recs = [
        ShadowRecord(
            "r",
            "u",
            "home",
            0.0,
            {
                "production": arm("production", "abcdefghij", 10.0),
                "candidate": arm("candidate", "abcdefghji", 11.0),
                "noise": arm("noise", "abcdefghij", 10.0),
            },
        )
    ]
    rep = compare(recs)
    gates = {
        "rbo": {"min": 0.9, "min_vs_noise": 0.95},
        "latency_p99_delta_ms": {"max": 5},
        "error_rate_delta": {"max": 0.001},
        "ad_winner_agreement": {"min": 0.8, "allow_missing": True},
    }
    result = evaluate(rep, gates)
    assert result.passed, [c.message for c in result.failures]
    assert not evaluate(rep, {"ad_winner_agreement": {"min": 0.8}}).passed
    assert not evaluate(rep, {"latency_p50_delta_ms": {"max": 0.5}}).passed

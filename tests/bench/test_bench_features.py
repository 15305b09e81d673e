"""``feedmix bench features`` on small sizes: shape and sanity of the report, never speed."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedmix.bench.features import DEFAULT_FEAST_VENV, feast_python, run_features_bench

REPO_FEAST_VENV = Path(__file__).resolve().parents[2] / DEFAULT_FEAST_VENV


def test_in_process_and_redis_figures_with_one_round_trip_per_read(redis_url: str, tmp_path: Path) -> None:
    report = run_features_bench(
        n_candidates=40,
        n_features=6,
        repeats=5,
        redis_url=redis_url,
        with_feast=True,
        progress=False,
        feast_venv=tmp_path / "no-feast-here",
        install_feast=False,
    )

    assert report["n_candidates"] == 40 and report["n_features"] == 6 and report["repeats"] == 5
    for backend in ("in_process", "redis"):
        figures = report[backend]
        assert 0 < figures["p50_ms"] <= figures["p90_ms"] <= figures["p99_ms"]
        assert figures["mean_ms"] > 0 and figures["cpu_p50_ms"] >= 0
    assert report["redis"]["round_trips_per_read"] == 1.0
    assert report["redis"]["record_bytes"] == 8 + 8 + 1 + 6 * 4
    assert isinstance(report["redis"]["hiredis"], bool)
    # Feast is missing and not to be installed: said so, and the other figures still stand
    assert "not installed" in report["feast"]["error"]
    assert "feast_over_redis_p50" not in report


def test_a_missing_redis_is_reported_not_raised() -> None:
    report = run_features_bench(
        n_candidates=10,
        n_features=2,
        repeats=2,
        redis_url="redis://127.0.0.1:1/0",
        with_feast=False,
        progress=False,
    )
    assert "ConnectionError" in report["redis"]["error"]
    assert report["in_process"]["p50_ms"] > 0
    assert "feast" not in report


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError):
        run_features_bench(n_candidates=0, with_feast=False, progress=False)


@pytest.mark.skipif(
    not feast_python(REPO_FEAST_VENV).exists(), reason=f"no {DEFAULT_FEAST_VENV} (benchmark-only)"
)
def test_feast_reads_the_same_values_from_the_same_redis(redis_url: str) -> None:
    report = run_features_bench(
        n_candidates=20,
        n_features=3,
        repeats=3,
        redis_url=redis_url,
        progress=False,
        feast_venv=REPO_FEAST_VENV,
        install_feast=False,
    )
    # the child checks the values it reads back against the ones written before timing
    assert "error" not in report["feast"], report["feast"]
    assert report["feast"]["p50_ms"] > 0
    assert report["feast_over_redis_p50"] > 0

"""``feedmix ads simulate`` end to end on small days: budget guard, delivery, trade-off, outputs."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from feedmix.ads.simulation import ads_simulation
from feedmix.ads.simulation.simulation_charts import ascii_chart, sparkline
from feedmix.ads.simulation.simulation_engine import DEFAULT_DAY_START, SimParams, build_world, run_day
from feedmix.ads.simulation.simulation_snapshot import snapshot_from_json, snapshot_to_json
from feedmix.ads.store.synthetic_campaigns import synthetic_snapshot
from feedmix.config import FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL = ["--campaigns", "60", "--requests-per-day", "5000", "--users", "2000", "--no-progress"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    """One small day with budgets that bind (the default demand) and a three-level trade-off."""
    out = tmp_path_factory.mktemp("adsim")
    png, report = out / "pacing.png", out / "report.json"
    argv = [*SMALL, "--tradeoff-requests", "1500", "--load-levels", "0,0.1,0.2"]
    argv += ["--plot", str(png), "--out", str(report)]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = ads_simulation.main(argv)
    assert rc == 0
    return json.loads(report.read_text()), buf.getvalue(), png


def test_small_run_writes_valid_json_and_png(small_run: tuple[dict[str, Any], str, Path]) -> None:
    report, stdout, png = small_run
    assert report["summary"]["page_views"] == 5000
    assert report["summary"]["campaigns"] == 15
    assert len(report["campaigns"]) == 15
    assert report["summary"]["ads_served"] > 0
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert "## Delivery against budget" in stdout
    assert "## Ad load vs engagement" in stdout
    assert "h UTC" in stdout  # the console pacing chart


def test_no_campaign_exceeds_budget_plus_tolerance(small_run: tuple[dict[str, Any], str, Path]) -> None:
    report, _, _ = small_run
    tol = report["config"]["overspend_tolerance"]
    assert report["summary"]["campaigns_over_cap"] == 0
    for row in report["campaigns"]:
        assert not row["over_cap"]
        assert row["spend_usd"] <= row["budget_usd"] * (1.0 + tol) + 1e-6, row
    for row in report["tradeoff"]:
        assert row["campaigns_over_cap"] == 0


def test_throttled_campaigns_deliver_most_of_their_budget(
    small_run: tuple[dict[str, Any], str, Path],
) -> None:
    """A campaign the pacer had to throttle had more demand than budget: it should spend most of it."""
    report, _, _ = small_run
    tol = report["config"]["overspend_tolerance"]
    throttled = [r for r in report["campaigns"] if r["throttle"] >= 0.3]
    assert throttled, "the default demand should leave some campaigns budget-limited"
    for row in throttled:
        assert 0.5 <= row["delivery"] <= 1.0 + tol, row


def test_pacing_curves_are_cumulative_and_reported(small_run: tuple[dict[str, Any], str, Path]) -> None:
    report, _, _ = small_run
    pacing = report["pacing"]
    assert 3 <= len(pacing["campaigns"]) <= 4
    assert pacing["target_share"][-1] == pytest.approx(1.0)
    assert np.all(np.diff(pacing["target_share"]) >= 0)
    for c in pacing["campaigns"]:
        spend = np.asarray(c["spend_usd"])
        assert np.all(np.diff(spend) >= -1e-9)  # billed spend only grows over the day
        assert all(0.0 <= p <= 1.0 for p in c["serve_prob"])


def test_revenue_rises_and_engagement_falls_with_ad_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With budgets that do not bind, more ad slots sell more; posts pushed down lose engagement."""
    argv = [*SMALL, "--demand-rpm", "2000", "--tradeoff-requests", "1500", "--load-levels", "0,0.05,0.1,0.2"]
    argv += ["--out", "-"]
    assert ads_simulation.main(argv) == 0
    rows = json.loads(capsys.readouterr().out)["tradeoff"]
    assert [r["ad_load"] for r in rows] == [0.0, 0.05, 0.1, 0.2]
    revenue = [r["revenue_per_1k_pv_usd"] for r in rows]
    engagement = [r["organic_engagement_per_pv"] for r in rows]
    assert revenue[0] == 0.0 and rows[0]["ads_per_pv"] == 0.0
    assert revenue[-1] > revenue[0]
    for lo, hi in itertools.pairwise(revenue):
        assert hi >= lo * 0.97, revenue
    for hi, lo in itertools.pairwise(engagement):
        assert lo <= hi * (1.0 + 1e-3), engagement
    assert engagement[-1] < engagement[0]


def test_out_dash_prints_only_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--campaigns", "12", "--requests-per-day", "800", "--users", "500", "--no-progress"]
    assert ads_simulation.main([*argv, "--load-levels", "", "--out", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tradeoff"] == []
    assert report["summary"]["page_views"] == 800


def test_snapshot_file_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = RedditCorpus.load(FeedmixConfig().posts_path())
    snap = synthetic_snapshot(8, corpus.communities, now=DEFAULT_DAY_START, seed=3, daily_budget_usd=20)
    doc = snapshot_to_json(snap)
    assert snapshot_from_json(json.loads(json.dumps(doc))) == [(c, g, list(a)) for c, g, a in snap]
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(doc))
    argv = ["--snapshot", str(path), "--requests-per-day", "600", "--users", "300", "--load-levels", ""]
    assert ads_simulation.main([*argv, "--no-progress", "--out", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {r["campaign_id"] for r in report["campaigns"]} == {"c0", "c1"}
    assert report["campaigns"][0]["budget_usd"] == pytest.approx(
        max(c.budget_micros for c, _, _ in snap) / 1e6
    )


def test_bad_snapshot_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"campaigns": [{"campaign_id": "c0", "budget": 5}]}))
    assert ads_simulation.main(["--snapshot", str(path), "--no-progress"]) == 2
    assert "unknown field" in capsys.readouterr().err


def test_same_seed_same_day() -> None:
    """Seeded streams: two runs of the same day bill exactly the same (what the trade-off relies on)."""
    corpus = RedditCorpus.load(FeedmixConfig().posts_path())
    snap = synthetic_snapshot(16, corpus.communities, now=DEFAULT_DAY_START, seed=1, daily_budget_usd=5)
    world = build_world(corpus, snap, n_users=300, seed=1, log_impressions=5000)
    params = SimParams(requests=600, seed=1)
    a, b = run_day(world, snap, params), run_day(world, snap, params)
    assert a.billed.tolist() == b.billed.tolist()
    assert a.clicks.tolist() == b.clicks.tolist()
    assert a.organic_engagement == b.organic_engagement


def test_console_chart_shapes() -> None:
    lines = ascii_chart([0.0, 0.3, 0.6, 1.0], [0.0, 0.25, 0.5, 1.0], width=20, height=6)
    assert len(lines) == 8
    assert all(len(line) >= 20 for line in lines[:6])
    body = "".join(lines[:6])
    assert "*" in body or "#" in body
    assert len(sparkline([0.0, 0.5, 1.0], width=12)) == 12

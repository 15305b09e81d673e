"""``feedmix bench experiments`` on a small scale: the figures exist and mean what they say (no timing
is asserted: the machines are shared)."""

from __future__ import annotations

import json
from pathlib import Path

from feedmix.bench import experiments as bench


def test_twenty_experiments_in_four_layers_assign_about_one_per_layer() -> None:
    exps = bench.experiments()
    assert len(exps) == 20 and len({e.layer for e in exps}) == 4
    got = bench.bench_assignment(users=2000, repeats=1)
    # every layer but its 5% holdout is allocated, and 2% of users are held out of everything
    assert 3.5 <= got["experiments_per_request"] <= 3.9
    assert got["us_per_request"] > 0


def test_the_shadow_benchmark_compares_one_run_with_and_without(tmp_path: Path) -> None:
    got = bench.bench_shadow(requests=30, sample_rate=0.5, users=100)
    assert got["sampled_requests"] > 0 and got["shadow_cpu_ms_per_sampled_request"] > 0
    assert got["request_cpu_ms_shadow_off"] > 0 and got["ratio_on_over_off"] > 0
    json.dumps(got)


def test_the_campaign_knobs_benchmark_decides_the_same_requests_with_and_without() -> None:
    got = bench.bench_campaign_knobs(groups=300, requests=50, repeats=1)
    # every campaign is in the experiment (allocation 1), and some compete in each auction
    assert got["in_experiment"] == got["campaigns"] > 0
    assert got["exposed_campaigns_per_decision"] > 0
    assert got["decide_us_without"] > 0 and got["ratio"] > 0
    json.dumps(got)

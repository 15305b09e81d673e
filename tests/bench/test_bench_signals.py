import json
from pathlib import Path

import pytest

from feedmix.bench.signals import main
from feedmix.corpus.reddit_corpus import demo_data_dir


def test_the_signals_bench_measures_a_tier_and_the_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FEEDMIX_STATE_DIR", str(tmp_path))
    args = ["--data", str(demo_data_dir()), "--tier", "rules", "--sample", "300", "--latency-posts", "20"]
    args += ["--stream-rate", "100", "--stream-seconds", "1", "--backfill-tier", "rules"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    rules = out["tiers"]["rules"]
    assert rules["posts"] == 300 and rules["posts_per_second"] > 0 and rules["usd_per_1k_posts"] > 0
    assert rules["per_post_unbatched"]["p50_ms"] <= rules["per_post_unbatched"]["p99_ms"]
    stream = out["stream"]
    assert stream["posts"] == 100 and stream["labelled"] == 100
    assert 0 <= stream["freshness_s"]["p50_s"] <= stream["freshness_s"]["p99_s"]
    assert (tmp_path / "signals" / "reports" / "bench.json").is_file()  # what the registry shows

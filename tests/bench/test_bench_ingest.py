"""feedmix bench ingest: workers drain a real Redis Stream and the run reports its rate (a small run)."""

from __future__ import annotations

import json

import pytest

from feedmix.bench import ingest


def test_a_small_run_drains_every_event_and_cleans_up(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import redis

    before = set(redis.Redis.from_url(redis_url).scan_iter(match="*bench-ingest-*"))
    assert ingest.main(["--redis-url", redis_url, "--events", "400", "--workers", "1", "--batch", "50"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["events"] == 400 and out["inline_aggregator"]["events_per_s"] > 0
    (run,) = out["workers"]
    assert run["workers"] == 1 and run["events_per_s"] > 0
    assert set(redis.Redis.from_url(redis_url).scan_iter(match="*bench-ingest-*")) == before

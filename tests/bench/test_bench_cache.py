"""feedmix bench cache: every work item is timed computed and read from each backend (a small run)."""

from __future__ import annotations

import json

import pytest

from feedmix.bench import cache


def test_a_small_run_times_each_work_item_and_leaves_no_keys(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import redis

    args = ["--posts", "demo", "--n", "3", "--candidates", "50", "--redis-url", redis_url]
    assert cache.main(args) == 0
    work = json.loads(capsys.readouterr().out)["work"]
    assert set(work) == {"trending_list", "community_top_posts", "post_feature_rows"}
    for item in work.values():
        assert {"compute", "read from memory", "read from redis"} <= set(item)
        assert all(item[k]["p50_ms"] > 0 for k in ("compute", "read from memory", "read from redis"))
    assert work["post_feature_rows"]["candidates"] == 50
    assert not list(redis.Redis.from_url(redis_url).scan_iter(match="*bench-cache-*"))

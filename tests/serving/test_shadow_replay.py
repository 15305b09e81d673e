"""A shadow replayed on the served-feature log: the logged page is production, the reruns see the user as
they were (the logged posts unseen again), and the report reads the records."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedmix import cli
from feedmix.config import FeedmixConfig
from feedmix.events.schema import Event, EventBatch
from feedmix.serving.runtime import Runtime
from feedmix.serving.shadow_replay import logged_requests, replay
from feedmix.shadow.record import read_records
from feedmix.shadow.report import compare
from tests.conftest import REDIS_URL, _missing

SHADOW = {"pipeline": "home", "sample_rate": 0.01, "params": {"heuristic_scorer.w_affinity": 0.0}}


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A state dir whose served-feature log holds 12 home requests, whose users then saw those pages
    (in Redis, so the replay's runtime sees them seen, as a restarted server would)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # pragma: no cover - depends on the machine
        _missing("Redis", exc)
    prefix = f"feedmix-test-{uuid.uuid4().hex[:10]}"
    state = tmp_path_factory.mktemp("state")
    cfg = FeedmixConfig(
        state_dir=str(state),
        users=200,
        ads_enabled=False,
        feature_log_sample_rate=1.0,
        seen_store=f"{REDIS_URL}?prefix={prefix}",
    )
    rt = Runtime.build(cfg)
    try:
        for i in range(1, 13):
            body = rt.feeds.feed("home", f"u{i:04d}", limit=10)
            events = [
                Event(
                    event_id=f"imp-{i}-{it['id']}", type="impression", user_id=f"u{i:04d}", post_id=it["id"]
                )
                for it in body["items"]
            ]
            rt.ingestor.ingest(EventBatch(events=events), now=time.time())  # seen from now on
    finally:
        rt.close()  # flushes the log
    (state / "feedmix.toml").write_text(
        FeedmixConfig(**{**cfg.__dict__, "shadows": {"blind": SHADOW}}).to_toml()
    )
    return state


def test_replay_writes_a_record_per_logged_request(logged: Path) -> None:
    cfg = FeedmixConfig.from_toml(logged / "feedmix.toml")
    requests = list(logged_requests(cfg.feature_log_dir, "home"))
    assert len(requests) == 12 and all(len(r["post_id"]) == 10 for r in requests)
    rt = Runtime.build(cfg)
    try:
        path, n = replay(rt, "blind", limit=10)
    finally:
        rt.close()
    records = read_records(path)
    assert n == 10 == len(records)
    for r in records:
        assert r.arms["production"].item_ids and r.arms["candidate"].item_ids and r.arms["noise"].item_ids
        assert "?" not in r.arms["production"].sources  # the log carries each item's source now
    # the noise arm reran production's config: with the logged posts unseen again, it mostly agrees
    report = compare(records)
    rbo = report["metrics"]["rbo"]
    assert rbo["noise"] > 0.6 > rbo["candidate"]
    assert report["metrics"]["latency_p99_delta_ms"]["candidate"] is None  # the log has no latency


def test_replay_from_the_command_line(logged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["replay", "blind", "--config", str(logged / "feedmix.toml"), "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "replayed 3 logged requests" in out
    assert cli.main(["replay", "nope", "--config", str(logged / "feedmix.toml")]) == 2

"""The runtime opens everything on one exit stack: a start that fails part-way and a shutdown both
close every client, thread and file it had opened, once, in the reverse order of opening."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from feedmix.config import FeedmixConfig
from feedmix.serving import runtime as runtime_module
from feedmix.serving.runtime import Runtime


class _Spy:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened: list[Any] = []
        self.closed: list[Any] = []
        real = runtime_module._opened

        def opened(stack: Any, resource: Any) -> Any:
            close = resource.close

            def spied_close() -> None:
                self.closed.append(resource)
                close()

            resource.close = spied_close
            self.opened.append(resource)
            return real(stack, resource)

        monkeypatch.setattr(runtime_module, "_opened", opened)


def _config(tmp_path: Path, redis_url: str, redis_prefix: str) -> FeedmixConfig:
    # the seen and session stores on a real Redis, so a leak would be a real open connection
    return FeedmixConfig(
        state_dir=str(tmp_path),
        users=50,
        seen_store=f"{redis_url}?prefix={redis_prefix}",
        session_store=f"{redis_url}?prefix={redis_prefix}",
    )


def _feedmix_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.is_alive() and "feedmix" in t.name}


def test_a_start_that_fails_late_closes_everything_it_opened(
    tmp_path: Path, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = _Spy(monkeypatch)
    threads_before = _feedmix_threads()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a pipeline failed to build")

    monkeypatch.setattr(runtime_module, "build_pipelines", broken)
    with pytest.raises(RuntimeError, match="failed to build"):
        Runtime.build(_config(tmp_path, redis_url, redis_prefix))
    kinds = {type(r).__name__ for r in spy.opened}
    assert {"RedisSeenStore", "RedisSessionStore", "SqliteEventLog", "AggregateFlusher"} <= kinds
    assert spy.closed == spy.opened[::-1]  # each once, last opened first
    assert _feedmix_threads() <= threads_before


def test_close_releases_every_resource_once_in_reverse_order(
    tmp_path: Path, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = _Spy(monkeypatch)
    rt = Runtime.build(_config(tmp_path, redis_url, redis_prefix))
    assert len(spy.opened) >= 8 and not spy.closed
    assert rt.feeds.feed("home", "u0001", 10)["items"]
    rt.close()
    rt.close()  # a second close is a no-op
    assert spy.closed == spy.opened[::-1]


def test_workers_mode_counts_nothing_in_process_and_follows_the_shared_log(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    """A replica in workers mode: no in-process aggregator or flusher; the recent engagements see an
    event another replica logged (it reaches this one through the shared log, not its ingestion)."""
    import time

    from feedmix.events.backends import open_event_log
    from feedmix.events.post_ids import int_to_post_id
    from feedmix.events.schema import Event

    cfg = FeedmixConfig(
        state_dir=str(tmp_path / "state"),
        users=50,
        event_log=f"{redis_url}?stream={redis_prefix}",
        feature_aggregates="workers",
        feature_aggregates_url=f"{redis_url}?namespace={redis_prefix}:agg",
        feature_store=f"{redis_url}?prefix={redis_prefix}",
        feature_offline_dir="off",
        signals_corpus="off",
        experiments_enabled=False,
    )
    rt = Runtime.build(cfg)
    try:
        assert rt.aggregator is None and rt.flusher is None
        post = int_to_post_id(int(rt.corpus.ids[0]))
        other_replica = open_event_log(cfg.event_log)
        other_replica.append(
            [Event(event_id="elsewhere", type="click", user_id="u0007", post_id=post, ts=1.0)]
        )
        other_replica.close()
        assert rt.recent_engagements is not None
        deadline = time.monotonic() + 10
        while not len(rt.recent_engagements.get("u0007")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rt.recent_engagements.get("u0007").tolist() == [int(rt.corpus.ids[0])]
    finally:
        rt.close()

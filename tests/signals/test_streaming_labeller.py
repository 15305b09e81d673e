import time
from pathlib import Path

import numpy as np
import pytest

from feedmix.events.backends import open_event_log
from feedmix.features.backends import open_online_store
from feedmix.features.signal_definitions import signal_registry
from feedmix.signals.new_post import NewPost
from feedmix.signals.post_signals import PostSignals
from feedmix.signals.posts import Posts
from feedmix.signals.rules_labeler import RulesLabeler
from feedmix.signals.streaming_labeller import StreamingLabeller


def _post(pid: str, title: str, t: float, sub: str = "headphones") -> NewPost:
    return NewPost(event_id=pid, subreddit=sub, title=title, received_at=t)


class Broken:
    name = "broken"
    tier = 9
    version = "broken-1"

    def label(self, posts: Posts) -> PostSignals:
        raise RuntimeError("model fell over")


def test_posts_are_labelled_written_online_and_checkpointed(tmp_path: Path) -> None:
    log = open_event_log(f"sqlite:///{tmp_path / 'posts.db'}", NewPost)
    online = open_online_store("memory://", signal_registry())
    now = time.time()
    log.append([_post("a1", "Sennheiser HD600 vs HD650?", now), _post("a2", "", now, "pics")])
    s = StreamingLabeller(log, RulesLabeler(), online=online, checkpoint_dir=tmp_path / "ckpt")
    assert s.step(s.passes[0]) == 2 and s.step(s.passes[0]) == 0
    a1 = s.signals_of("a1")
    assert a1 is not None and a1["intent"] == "comparison" and a1["tier"] == "rules"
    assert a1["labelled_at"] >= a1["received_at"]
    assert s.signals_of("a2")["gate"] == "empty"
    read = online.read("post_signals", ["a1"], ["intent", "product_count"])
    assert read.columns["intent"][0] == 3 and read.columns["product_count"][0] >= 1
    # a restart resumes after the last labelled post
    again = StreamingLabeller(log, RulesLabeler(), online=online, checkpoint_dir=tmp_path / "ckpt")
    assert again.passes[0].offset == s.passes[0].offset and again.step(again.passes[0]) == 0
    assert again.lag() == {"rules": 0}


def test_a_failing_model_is_counted_and_the_stream_moves_on(tmp_path: Path) -> None:
    log = open_event_log("memory://", NewPost)
    log.append([_post("b1", "anything", time.time())])
    s = StreamingLabeller(log, Broken())
    assert s.step(s.passes[0]) == 1
    assert s.signals_of("b1") is None and s.lag() == {"broken": 0}


def test_the_thread_labels_within_seconds_and_a_refiner_overwrites(tmp_path: Path) -> None:
    log = open_event_log("memory://", NewPost)

    class Refiner(RulesLabeler):
        name = "refined"

    s = StreamingLabeller(log, RulesLabeler(), refiner=Refiner(), poll_s=0.01)
    s.start()
    try:
        log.append([_post("c1", "Looking for a durable backpack under $100", time.time(), "BuyItForLife")])
        deadline = time.time() + 10
        while time.time() < deadline and (s.signals_of("c1") or {}).get("tier") != "refined":
            time.sleep(0.02)
        got = s.signals_of("c1")
        assert got is not None and got["tier"] == "refined"
        assert got["labelled_at"] - got["received_at"] < 10
    finally:
        s.close()


@pytest.mark.parametrize("n", [600])
def test_large_batches_are_cut_into_micro_batches(tmp_path: Path, n: int) -> None:
    log = open_event_log("memory://", NewPost)
    now = time.time()
    log.append([_post(f"d{i}", f"Post number {i}", now) for i in range(n)])
    s = StreamingLabeller(log, RulesLabeler(), batch=256)
    consumed = [s.step(s.passes[0]) for _ in range(4)]
    assert consumed == [256, 256, 88, 0]
    assert all(s.signals_of(f"d{i}") is not None for i in np.arange(0, n, 37))

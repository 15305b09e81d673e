"""Ingestion at scale, as deployed: 3 serving replicas take events, 2 aggregate workers count them, and
one worker is killed (SIGKILL) mid-stream. Every aggregate row the workers leave in the online store
must equal what one process computes replaying the same log, and no acknowledged event may be missing.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from feedmix.corpus.reddit_corpus import RedditCorpus, demo_data_dir
from feedmix.events.backends import open_event_log, open_event_stream
from feedmix.events.event_log import scan
from feedmix.events.post_ids import ints_to_post_ids, post_ids_to_int
from feedmix.features.backends import open_online_store, open_shared_aggregates
from feedmix.features.definitions import default_registry
from feedmix.features.entity_keys import post_keys
from feedmix.features.streaming_aggregates import EngagementAggregator, corpus_community_of

pytestmark = pytest.mark.e2e

TYPES = ["impression"] * 6 + ["click", "upvote", "hide", "comment", "downvote"]


def _config(tmp: Path, redis_url: str, name: str) -> Path:
    path = tmp / "replica.toml"
    path.write_text(
        f"""
[users]
count = 200
[stores]
state_dir = "{tmp / "state"}"
event_log = "{redis_url}?stream={name}"
features = "{redis_url}?prefix={name}"
[features]
aggregates = "workers"
aggregates_url = "{redis_url}?namespace={name}:agg"
flush_interval_s = 0.2
offline_dir = "off"
replay_window_s = 0
[experiments]
enabled = false
[signals]
enabled = false
corpus = "off"
[ads]
enabled = false
"""
    )
    return path


def _wait_reading(proc: subprocess.Popen[str]) -> None:
    line = proc.stderr.readline() if proc.stderr else ""
    assert "reading" in line, line


def _group_info(redis_url: str, stream: str) -> tuple[dict[str, int], int]:
    """Pending entries per consumer of the group, and the group's lag (entries not yet read)."""
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    key = f"feedmix:events:{{{stream}}}"
    try:
        groups = {g["name"]: g for g in client.xinfo_groups(key)}
        if "aggregates" not in groups:
            return {}, -1
        consumers = {c["name"]: int(c["pending"]) for c in client.xinfo_consumers(key, "aggregates")}
        return consumers, int(groups["aggregates"]["lag"] or 0)
    except redis.ResponseError:  # no stream yet
        return {}, -1
    finally:
        client.close()


def _lag(redis_url: str, stream: str) -> int:
    return _group_info(redis_url, stream)[1]


def _pending_of(redis_url: str, stream: str, consumer: str) -> int:
    return _group_info(redis_url, stream)[0].get(consumer, 0)


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "feedmix.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_healthy(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"replica exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not become healthy")


@pytest.fixture
def deployment(tmp_path: Path, redis_url: str, redis_prefix: str) -> Iterator[tuple[Path, list[str]]]:
    from feedmix.bench.ports import free_port

    config = _config(tmp_path, redis_url, redis_prefix)
    env = {**os.environ, "FEEDMIX_STATE_DIR": str(tmp_path / "state")}
    ports = [free_port() for _ in range(3)]
    replicas = [_start(["serve", "--config", str(config), "--port", str(p)], env) for p in ports]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for url, proc in zip(urls, replicas, strict=True):
            _wait_healthy(url, proc)
        yield config, urls
    finally:
        for proc in replicas:
            proc.send_signal(signal.SIGINT)
        for proc in replicas:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_three_replicas_two_workers_one_killed_keep_exact_counts(
    deployment: tuple[Path, list[str]], redis_url: str, redis_prefix: str
) -> None:
    config, urls = deployment
    corpus = RedditCorpus.load(demo_data_dir())
    rng = random.Random(16)
    posts = ints_to_post_ids(corpus.ids[rng.sample(range(len(corpus.ids)), 60)])
    now = time.time()
    # times whose buckets stay in every window for the next 25 minutes: the rows cannot change while
    # the test runs, so the workers' last flush and the replay below describe the same moment
    events = [
        {
            "event_id": f"e{i}",
            "type": rng.choice(TYPES),
            "user_id": f"u{rng.randrange(40):04d}",
            "post_id": rng.choice(posts),
            "ts": now - rng.uniform(1200, 1800),
        }
        for i in range(3000)
    ]

    def worker(name: str) -> subprocess.Popen[str]:
        args = ["features", "aggregate-worker", "--config", str(config), "--consumer", name]
        return _start(
            [*args, "--batch", "20", "--claim-idle-ms", "1000", "--progress-s", "1"], dict(os.environ)
        )

    workers = [worker("w1"), worker("w2")]
    for proc in workers:  # both reading (each loads the corpus first)
        _wait_reading(proc)
    accepted = 0
    with httpx.Client(timeout=10) as client:
        for n, start in enumerate(range(0, len(events), 50)):
            batch = events[start : start + 50]
            r = client.post(f"{urls[n % 3]}/v1/events", json={"events": batch})
            assert r.status_code == 202, r.text
            accepted += r.json()["accepted"]
            if start == 1500:  # half-way, while the workers are busy: the first dies without a word
                while _lag(redis_url, redis_prefix) > 1000:
                    time.sleep(0.01)
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait(timeout=10)
                left_pending = _pending_of(redis_url, redis_prefix, "w1")
            if start == 2000:  # and its replacement joins later, under the same name
                workers.append(worker("w3"))
        # a replica that counts nothing still serves feeds (exploration reads the workers' rows)
        feed = client.get(f"{urls[1]}/v1/feed", params={"user_id": "u0001", "limit": 10})
        assert feed.status_code == 200 and feed.json()["items"], feed.text
        # a retry of a batch (the client did not see the answer) is stored once
        r = client.post(f"{urls[0]}/v1/events", json={"events": events[:50]})
        assert r.json() == {"accepted": 0, "duplicates": 50}
    assert accepted == len(events)
    _wait_reading(workers[2])

    log = open_event_log(f"{redis_url}?stream={redis_prefix}")
    stream = open_event_stream(f"{redis_url}?stream={redis_prefix}", log, group="aggregates")
    deadline = time.monotonic() + 120
    while (stream.lag() or stream.pending()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stream.lag() == 0 and stream.pending() == 0
    # and every row written: by the lease holder, or once the killed worker's lease expired, another
    aggregates = open_shared_aggregates(f"{redis_url}?namespace={redis_prefix}:agg", lambda p: p, [])
    while aggregates.unflushed() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert aggregates.unflushed() == 0
    aggregates.close()
    for proc in workers[1:]:
        proc.send_signal(signal.SIGTERM)  # a clean stop: one last flush
    claimed = 0
    for proc in workers[1:]:
        proc.wait(timeout=30)
        err = proc.stderr.read() if proc.stderr else ""
        assert proc.returncode == 0, err
        claimed += int(re.findall(r"claimed=(\d+)", err)[-1])
    # what the killed worker held was taken over (it may have held nothing at that instant)
    assert claimed >= left_pending, (claimed, left_pending)

    # the single-process replay: the log read once, in order, into the in-process aggregator
    logged = list(scan(log))
    assert len(logged) == len(events)
    q = time.time()
    reference = EngagementAggregator(corpus_community_of(corpus), corpus.communities, clock=lambda: q)
    reference.apply(logged, q)
    expected = open_online_store("memory://", default_registry())
    reference.flush(expected, q)
    served = open_online_store(f"{redis_url}?prefix={redis_prefix}", default_registry())

    counted = [e for e in logged if e.type != "downvote"]
    post_ints = post_ids_to_int([e.post_id for e in counted])
    communities = corpus_community_of(corpus)(post_ints).tolist()
    names_of = corpus.communities
    keys = {
        "post": post_keys(np.unique(post_ints)),
        "user": sorted({e.user_id for e in counted}),
        "community": sorted({names_of[c] for c in communities if c >= 0}),
        "user_community": sorted(
            {f"{e.user_id}|{names_of[c]}" for e, c in zip(counted, communities, strict=True) if c >= 0}
        ),
    }
    assert len(keys["community"]) > 1 and len(keys["user_community"]) > 40
    for entity, entity_keys in keys.items():
        names = [d.name for d in default_registry().by_entity(entity)]
        got = served.read(entity, entity_keys, names)
        want = expected.read(entity, entity_keys, names)
        assert not got.missing.any() and not want.missing.any(), entity
        for name in names:
            assert got.columns[name].tolist() == want.columns[name].tolist(), (entity, name)
    log.close()
    stream.close()
    served.close()

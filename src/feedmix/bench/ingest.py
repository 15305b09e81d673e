"""``feedmix bench ingest``: how fast aggregate workers count the event stream, with 1 and 2 workers.

A known set of events (real demo posts, simulated users) is appended to a fresh Redis Stream; then W
worker processes (``AggregateWorker`` over a consumer group, counting into ``SharedAggregates``) drain
it, and the time from their start to the last acknowledgement gives events per second. The same
events through the in-process ``EngagementAggregator`` (what one server does inline) are the yardstick.
Each worker loads the corpus before the clock starts. Keys are namespaced per run and deleted after.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import sys
import time
import uuid
from typing import Any

from feedmix.bench.json_report import emit

TYPES = ["impression"] * 6 + ["click", "upvote", "hide", "comment"]


def _events(n: int, seed: int = 7) -> list[Any]:
    from feedmix.corpus.reddit_corpus import RedditCorpus, demo_data_dir
    from feedmix.events.post_ids import ints_to_post_ids
    from feedmix.events.schema import Event

    corpus = RedditCorpus.load(demo_data_dir())
    rng = random.Random(seed)
    posts = ints_to_post_ids(corpus.ids[rng.sample(range(len(corpus.ids)), 2000)])
    now = time.time()
    return [
        Event(
            event_id=f"b{i}",
            type=rng.choice(TYPES),  # type: ignore[arg-type]
            user_id=f"u{rng.randrange(5000):05d}",
            post_id=rng.choice(posts),
            ts=now - rng.uniform(0, 3 * 3600),
        )
        for i in range(n)
    ]


def _worker(
    redis_url: str, stream: str, namespace: str, name: str, ready: Any, start: Any, batch: int
) -> None:
    from feedmix.corpus.reddit_corpus import RedditCorpus, demo_data_dir
    from feedmix.events.redis_event_stream import RedisEventStream
    from feedmix.features.aggregate_worker import AggregateWorker
    from feedmix.features.backends import open_shared_aggregates
    from feedmix.features.streaming_aggregates import corpus_community_of
    from feedmix.stores.redis_conn import make_any_client

    corpus = RedditCorpus.load(demo_data_dir())
    stream_ = RedisEventStream(make_any_client(redis_url, {}, default_timeout_ms=5000), stream)
    aggregates = open_shared_aggregates(
        f"{redis_url}?namespace={namespace}", corpus_community_of(corpus), corpus.communities
    )
    worker = AggregateWorker(stream_, aggregates, None, name, batch=batch, block_ms=50)
    ready.set()
    start.wait()
    while stream_.lag() or stream_.pending():
        worker.step()


def _drain(redis_url: str, workers: int, events: list[Any], batch: int) -> dict[str, Any]:
    from feedmix.events.redis_event_log import RedisEventLog
    from feedmix.events.redis_event_stream import RedisEventStream
    from feedmix.stores.redis_conn import make_any_client

    run = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    client = make_any_client(redis_url, {}, default_timeout_ms=5000)
    log = RedisEventLog(client, run)
    for i in range(0, len(events), 500):
        log.append(events[i : i + 500])
    RedisEventStream(client, run)  # the group exists before any worker reads
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    readies = [ctx.Event() for _ in range(workers)]
    procs = [
        ctx.Process(target=_worker, args=(redis_url, run, f"{run}:agg", f"w{i}", readies[i], start, batch))
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    for r in readies:
        r.wait(120)
    t0 = time.perf_counter()
    start.set()
    for p in procs:
        p.join()
    seconds = time.perf_counter() - t0
    keys = list(client.scan_iter(match=f"*{run}*", count=1000))
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i : i + 1000])
    client.close()
    return {"workers": workers, "seconds": round(seconds, 2), "events_per_s": round(len(events) / seconds)}


def _inline(events: list[Any]) -> dict[str, Any]:
    from feedmix.corpus.reddit_corpus import RedditCorpus, demo_data_dir
    from feedmix.features.streaming_aggregates import EngagementAggregator, corpus_community_of

    corpus = RedditCorpus.load(demo_data_dir())
    agg = EngagementAggregator(corpus_community_of(corpus), corpus.communities)
    t0 = time.perf_counter()
    for i in range(0, len(events), 500):
        agg.apply(events[i : i + 500], time.time())
    seconds = time.perf_counter() - t0
    return {"seconds": round(seconds, 3), "events_per_s": round(len(events) / seconds)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="feedmix bench ingest", description=__doc__.splitlines()[0])
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, default=500, help="entries per worker read")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    events = _events(args.events)
    result: dict[str, Any] = {"events": len(events), "batch": args.batch, "cpus": mp.cpu_count()}
    result["inline_aggregator"] = _inline(events)
    result["workers"] = []
    for w in args.workers:
        print(f"feedmix: {w} worker(s) draining {len(events)} events...", file=sys.stderr, flush=True)
        result["workers"].append(_drain(args.redis_url, w, events, args.batch))
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

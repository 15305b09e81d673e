"""``feedmix features aggregate-worker``: one consumer of the event stream, counting into Redis.

Run as many as the event rate needs, anywhere that reaches the event log's Redis and the shared
counts' Redis; each needs the corpus only to know each post's community.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
from typing import Any


def cmd_aggregate_worker(args: argparse.Namespace) -> int:
    from feedmix.config import ConfigFileError, FeedmixConfig
    from feedmix.corpus.reddit_corpus import RedditCorpus
    from feedmix.events.backends import open_event_log, open_event_stream
    from feedmix.features.aggregate_worker import AggregateWorker
    from feedmix.features.backends import open_online_store, open_shared_aggregates
    from feedmix.features.definitions import default_registry
    from feedmix.features.offline_write_through import OfflineWriteThroughStore
    from feedmix.features.online_store import OnlineStore
    from feedmix.features.streaming_aggregates import corpus_community_of
    from feedmix.stores.url_options import without_query

    try:
        cfg = FeedmixConfig.from_toml(args.config) if args.config else FeedmixConfig()
    except ConfigFileError as exc:
        print(f"feedmix: {exc}", file=sys.stderr)
        return 2
    if cfg.feature_aggregates != "workers":
        print(
            "feedmix: features.aggregates is 'inline' (each server counts what it ingests); set it to"
            " 'workers', with a redis:// stores.event_log and features.aggregates_url, to run workers",
            file=sys.stderr,
        )
        return 2
    corpus = RedditCorpus.load(cfg.posts_path(), now=cfg.now)
    log = open_event_log(cfg.event_log)
    stream = open_event_stream(cfg.event_log, log, group=args.group)
    aggregates = open_shared_aggregates(
        cfg.feature_aggregates_url, corpus_community_of(corpus), corpus.communities
    )
    online = open_online_store(cfg.feature_store, default_registry())
    sink: OnlineStore = (
        online
        if cfg.feature_offline_dir == "off"
        else OfflineWriteThroughStore(online, cfg.feature_offline_dir, owns_online=False)
    )
    consumer = args.consumer or f"{socket.gethostname()}-{os.getpid()}"
    worker = AggregateWorker(
        stream,
        aggregates,
        sink,
        consumer,
        batch=args.batch,
        claim_idle_ms=args.claim_idle_ms,
        flush_interval_s=cfg.feature_flush_interval_s,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(
        f"feedmix: aggregate worker {consumer} reading as group {args.group}: {without_query(cfg.event_log)}",
        file=sys.stderr,
        flush=True,
    )
    progress = threading.Thread(target=_report, args=(worker, stream, stop, args.progress_s), daemon=True)
    progress.start()
    try:
        stats = worker.run(stop)
    finally:
        for closing in (sink, aggregates, stream, log):
            closing.close()
    print(f"feedmix: aggregate worker {consumer} stopped: {stats}", file=sys.stderr, flush=True)
    return 0


def _report(worker: Any, stream: Any, stop: threading.Event, every_s: float) -> None:
    """A progress line now and then: what this worker did and what the group has left to read."""
    while not stop.wait(every_s):
        s = worker.stats
        try:
            lag = stream.lag()
        except Exception:
            lag = -1
        print(
            f"feedmix: {time.strftime('%H:%M:%S')} read {s.read} claimed {s.claimed} counted {s.counted}"
            f" acked {s.acked} flushes {s.flushes} failures {s.failures} lag {lag}",
            file=sys.stderr,
            flush=True,
        )


def add_aggregate_worker_command(fsub: Any) -> None:
    p = fsub.add_parser(
        "aggregate-worker",
        help="count logged events into the shared aggregates (features.aggregates = 'workers')",
        description=(
            "One consumer of the event log's Redis consumer group: claims what dead workers left, reads"
            " new events, counts each once in Redis, acknowledges, and (the one holding the lease)"
            " writes the changed rows to the online store. Stops on SIGTERM/SIGINT after a last flush."
        ),
    )
    p.add_argument("--config", help="TOML config (the serving replicas' own)")
    p.add_argument("--consumer", help="this worker's name in the group (default: host-pid)")
    p.add_argument("--group", default="aggregates", help="consumer group (default: aggregates)")
    p.add_argument("--batch", type=int, default=500, help="entries per read (default 500)")
    p.add_argument(
        "--claim-idle-ms",
        type=int,
        default=30_000,
        help="take over entries pending this long (their worker presumed dead; default 30000)",
    )
    p.add_argument("--progress-s", type=float, default=10.0, help="seconds between progress lines")
    p.set_defaults(func=cmd_aggregate_worker)

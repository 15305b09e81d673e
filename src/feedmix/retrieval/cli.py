"""``feedmix index build``: build and publish the ANN indexes the embedding sources serve from."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from feedmix.jobs.cli_options import add_executor_options


def cmd_index_build(args: argparse.Namespace) -> int:
    from feedmix.config import ConfigFileError, FeedmixConfig
    from feedmix.corpus.reddit_corpus import RedditCorpus
    from feedmix.jobs.cli_options import executor_from_args
    from feedmix.retrieval.index_build import build_indexes

    try:
        cfg = FeedmixConfig.from_toml(args.config) if args.config else FeedmixConfig()
        executor = executor_from_args(args, cfg.jobs_executor, cfg.jobs_ray_address)
    except (ConfigFileError, ValueError) as exc:
        print(f"feedmix index build: {exc}", file=sys.stderr)
        return 2
    posts = FeedmixConfig(posts=args.posts).posts_path()
    print(f"feedmix index build: loading posts from {posts}", file=sys.stderr, flush=True)
    try:
        summary = build_indexes(
            RedditCorpus.load(posts),
            args.out,
            kind=args.kind,
            events=args.events,
            collab_kind=args.collab_kind,
            min_positive_pairs=args.min_pairs,
            threads=args.threads,
            progress=not args.quiet,
            executor=executor,
        )
    finally:
        executor.close()
    if args.shards:
        from feedmix.retrieval.shards.shard_build import build_shards

        summary["content_shards"] = build_shards(
            args.out,
            args.shards,
            args.kind,
            threads=args.threads,
            say=lambda msg: print(f"content shards: {msg}", file=sys.stderr, flush=True),
        )
    print(json.dumps(summary, indent=2))
    return 0


def cmd_index_shard_serve(args: argparse.Namespace) -> int:
    import signal
    import threading

    from feedmix.retrieval.shards.shard_server import open_shard

    server = open_shard(
        args.index_dir,
        args.shards,
        args.shard,
        host=args.host,
        port=args.port,
        workers=args.workers,
        delay_s=args.test_delay_ms / 1000.0,
        watch_interval_s=args.watch_interval_s,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # one line on stdout that a supervisor (or a test) reads to learn the port
    print(json.dumps({"listening": server.address, **server.info()}), flush=True)
    stop.wait()
    server.stop()
    return 0


def register(sub: Any) -> None:
    kinds = ("auto", "exact", "faiss_hnsw", "faiss_ivf", "faiss_ivf_fp16", "usearch_hnsw")
    p = sub.add_parser("index", help="the ANN indexes of the embedding sources")
    isub = p.add_subparsers(dest="index_command", required=True)
    b = isub.add_parser(
        "build",
        help="build and publish the content index (and the collaborative one from an event log)",
        description="Text embeddings of every post in an ANN index plus community centroids (content);"
        " with --events, implicit ALS on the log's clicks and votes, item factors in an inner-product"
        " index and user factors beside it (collab). Each is published atomically under --out, where a"
        " running server (`[retrieval] index_dir`) swaps it in. Prints a JSON summary.",
    )
    b.add_argument(
        "--posts", default=os.environ.get("FEEDMIX_POSTS", "demo"), help="'demo', 'full' or a path"
    )
    b.add_argument("--out", default=os.path.join("var", "index"), help="index directory (default var/index)")
    b.add_argument(
        "--kind",
        default="faiss_ivf_fp16",
        choices=kinds,
        help="content index kind (auto: exact up to 50k posts, else faiss_ivf_fp16)",
    )
    b.add_argument("--events", help="event log URL for the collab index, e.g. sqlite:///var/events.db")
    b.add_argument("--collab-kind", default="auto", choices=kinds, help="collab index kind")
    b.add_argument(
        "--min-pairs", type=int, default=None, help="positive (user, post) pairs the collab index needs (200)"
    )
    b.add_argument("--threads", type=int, default=2, help="build threads (faiss, BLAS, ALS)")
    b.add_argument(
        "--shards",
        type=int,
        default=0,
        help="also split the content index into this many shards (<out>/content_shards/<S>/<i>/) for"
        " `feedmix index shard-serve`; posts go to shards by a hash of their id",
    )
    b.add_argument("--quiet", action="store_true", help="no progress bars")
    b.add_argument("--config", help="TOML config whose [jobs] section picks the executor")
    add_executor_options(b, partitions=False)
    b.set_defaults(func=cmd_index_build)
    s = isub.add_parser(
        "shard-serve",
        help="serve one shard of the content index over gRPC (for a scatter-gather coordinator)",
        description="Top-k ids and scores for batches of query vectors from shard --shard of --shards,"
        " as built by `feedmix index build --shards`, swapping in rebuilt shards while serving. Prints"
        " one JSON line with the address it listens on, then serves until SIGTERM.",
    )
    s.add_argument("--index-dir", default=os.path.join("var", "index"), help="the --out of index build")
    s.add_argument("--shards", type=int, required=True, help="how many shards the index was split into")
    s.add_argument("--shard", type=int, required=True, help="which shard to serve (0-based)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    s.add_argument("--workers", type=int, default=2, help="request threads (one search each)")
    s.add_argument("--watch-interval-s", type=float, default=5.0, help="poll for a rebuilt shard (0: never)")
    s.add_argument(
        "--test-delay-ms",
        type=float,
        default=0.0,
        help="tests and benchmarks only: sleep this long before every search (a slow shard on purpose)",
    )
    s.set_defaults(func=cmd_index_shard_serve)

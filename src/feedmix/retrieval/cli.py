"""``feedmix index build``: build and publish the ANN indexes the embedding sources serve from."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def cmd_index_build(args: argparse.Namespace) -> int:
    from feedmix.config import FeedmixConfig
    from feedmix.corpus.reddit_corpus import RedditCorpus
    from feedmix.retrieval.index_build import build_indexes

    posts = FeedmixConfig(posts=args.posts).posts_path()
    print(f"feedmix index build: loading posts from {posts}", file=sys.stderr, flush=True)
    summary = build_indexes(
        RedditCorpus.load(posts),
        args.out,
        kind=args.kind,
        events=args.events,
        collab_kind=args.collab_kind,
        min_positive_pairs=args.min_pairs,
        threads=args.threads,
        progress=not args.quiet,
    )
    print(json.dumps(summary, indent=2))
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
    b.add_argument("--quiet", action="store_true", help="no progress bars")
    b.set_defaults(func=cmd_index_build)

"""``feedmix features list | training-set``: the feature registry and the training data built from it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from feedmix.features.aggregate_worker_cli import add_aggregate_worker_command
from feedmix.jobs.cli_options import add_executor_options


def cmd_features_list(args: argparse.Namespace) -> int:
    from feedmix.features.definitions import default_registry, features_table

    registry = default_registry()
    if args.json:
        print(json.dumps(registry.as_rows(), indent=2))
    else:
        print(features_table(registry), end="")
    return 0


def _add_features_list_command(fsub: Any) -> None:
    p = fsub.add_parser(
        "list",
        help="the online features: entity, name, dtype, default, TTL, owner, description",
        description="Every feature of the registry, sorted by entity and name.",
    )
    p.add_argument("--json", action="store_true", help="print JSON rows instead of the table")
    p.set_defaults(func=cmd_features_list)


def cmd_features_training_set(args: argparse.Namespace) -> int:
    from feedmix.config import ConfigFileError, FeedmixConfig
    from feedmix.features.offline.registry_specs import corpus_post_communities, read_post_communities
    from feedmix.features.offline.training_set import build_training_set
    from feedmix.jobs.cli_options import executor_from_args

    try:
        cfg = FeedmixConfig.from_toml(args.config) if args.config else FeedmixConfig()
        executor = executor_from_args(args, cfg.jobs_executor, cfg.jobs_ray_address)
    except (ConfigFileError, ValueError) as exc:
        print(f"feedmix features training-set: {exc}", file=sys.stderr)
        return 2

    post_communities = None
    if args.post_communities:
        post_communities = read_post_communities(args.post_communities)
    elif args.posts:
        from feedmix.corpus.reddit_corpus import RedditCorpus
        from feedmix.features.entity_keys import post_keys

        corpus = RedditCorpus.load(FeedmixConfig(posts=args.posts).posts_path())
        ids = [k.decode() for k in post_keys(corpus.ids).tolist()]
        post_communities = corpus_post_communities(ids, corpus.community.tolist(), corpus.communities)
    try:
        summary = build_training_set(
            args.events,
            args.offline,
            args.out,
            args.label_window,
            served_log_dir=args.served_log,
            post_communities=post_communities,
            work_dir=args.work_dir,
            complete_only=args.complete_only,
            progress=not args.quiet,
            executor=executor,
            partitions=args.partitions,
        )
    finally:
        executor.close()
    print(json.dumps(summary, indent=2))
    return 0


def _add_training_set_command(fsub: Any) -> None:
    p = fsub.add_parser(
        "training-set",
        help="training rows from the event log with point-in-time features (Parquet), summary as JSON",
        description="One row per impression: labels within --label-window, and each feature as serving"
        " knew it strictly before the impression (the offline history the write-through store keeps),"
        " registry defaults where unknown, plus '<column>.missing' indicators.",
    )
    p.add_argument("--events", required=True, help="event log URL (sqlite:///events.db, redis://...)")
    p.add_argument("--offline", required=True, help="offline feature store root (the feature history)")
    p.add_argument("--out", required=True, help="the training set to write (.parquet)")
    p.add_argument(
        "--served-log", help="served-feature log dir: adds served.<column> where requests were sampled"
    )
    p.add_argument(
        "--label-window", type=float, default=3600.0, help="seconds after an impression that label it"
    )
    communities = p.add_mutually_exclusive_group()
    communities.add_argument(
        "--posts", help="corpus ('demo', 'full' or a path) giving each post's community (community features)"
    )
    communities.add_argument(
        "--post-communities", help="Parquet or CSV file of post_id,community (instead of --posts)"
    )
    p.add_argument(
        "--work-dir", help="where the event export is kept between runs (default: under --offline)"
    )
    p.add_argument(
        "--complete-only", action="store_true", help="drop impressions whose label window is still open"
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--config", help="TOML config whose [jobs] section picks the executor")
    add_executor_options(p)
    p.set_defaults(func=cmd_features_training_set)


def register(sub: Any) -> None:
    p = sub.add_parser("features", help="the feature registry and training data built from it")
    fsub = p.add_subparsers(dest="features_command", required=True)
    _add_training_set_command(fsub)
    _add_features_list_command(fsub)
    add_aggregate_worker_command(fsub)

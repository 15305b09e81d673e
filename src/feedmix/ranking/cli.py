"""``feedmix train`` and ``feedmix models list | show | promote | rollback``: train the ranker, and the
model registry from a terminal.

Promotion is a decision a person makes after reading the metrics, so the list puts each version's
data window, row count and metrics side by side. The serving process notices a promotion or rollback
by itself (it watches the registry), so these commands only change ``state.json``; they never talk to
a server. Errors print one line naming what is wrong to stderr and exit with 2.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedmix.jobs.cli_options import add_executor_options

if TYPE_CHECKING:  # the registry pulls in the index stack: loaded by the handlers, not by --help
    from feedmix.ranking.model_registry import ModelRegistry, ModelVersion

DEFAULT_MODEL = "ranker"
#: metrics the table shows by default (fnmatch patterns): each head's AUC, the number people compare
#: first; ``--metrics`` picks others, ``--json`` has them all
DEFAULT_METRICS = "auc,*.auc"
#: shown when no metric matches the patterns, so a model with other metric names still shows some
FALLBACK_METRICS = 4


def registry_dir(args: argparse.Namespace) -> Path:
    """``--registry``, else ``[ranking] registry_dir`` of ``--config`` or of the defaults (which is
    ``<state_dir>/models``, ``state_dir`` from ``$FEEDMIX_STATE_DIR`` or ``var``)."""
    if args.registry:
        return Path(args.registry)
    from feedmix.config import FeedmixConfig

    cfg = FeedmixConfig.from_toml(args.config) if args.config else FeedmixConfig()
    return Path(cfg.ranking_registry_dir)


def _fail(command: str, message: str) -> int:
    print(f"feedmix models {command}: {message}", file=sys.stderr)
    return 2


def _open(args: argparse.Namespace) -> ModelRegistry:
    from feedmix.ranking.model_registry import ModelRegistry

    return ModelRegistry(registry_dir(args))


def _utc(ts: float, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime(fmt)


def pick_metrics(metrics: Mapping[str, float], patterns: str) -> list[tuple[str, float]]:
    """The metrics matching any comma-separated fnmatch pattern, by name; the first few if none does."""
    pats = [p.strip() for p in patterns.split(",") if p.strip()]
    chosen = [(k, v) for k, v in sorted(metrics.items()) if any(fnmatch.fnmatchcase(k, p) for p in pats)]
    return chosen or sorted(metrics.items())[:FALLBACK_METRICS]


def versions_table(versions: list[ModelVersion], metric_patterns: str = DEFAULT_METRICS) -> str:
    """Aligned columns, oldest first; ``*`` marks the promoted version."""
    header = ["", "version", "created (UTC)", "data window (UTC)", "rows", "code", "metrics"]
    rows = [header]
    for v in versions:
        w = v.meta.data_window
        metrics = "  ".join(f"{k}={val:.4g}" for k, val in pick_metrics(v.meta.metrics, metric_patterns))
        rows.append(
            [
                "*" if v.promoted else "",
                v.version,
                _utc(v.created_at),
                f"{_utc(w.start_ts)} .. {_utc(w.end_ts)}",
                f"{w.rows:,}",
                v.code.describe(),
                metrics,
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)), r[-1]]).rstrip() for r in rows
    ]
    return "\n".join(lines) + "\n"


def cmd_models_list(args: argparse.Namespace) -> int:
    try:
        reg = _open(args)
        versions = reg.list(args.name)
    except (ValueError, OSError) as exc:  # RegistryError, ConfigFileError
        return _fail("list", str(exc))
    if args.json:
        print(json.dumps([v.as_dict() for v in versions], indent=2))
        return 0
    if not versions:
        print(f"no versions of model {args.name!r} in {reg.root}", file=sys.stderr)
        return 0
    print(versions_table(versions, args.metrics), end="")
    return 0


def cmd_models_show(args: argparse.Namespace) -> int:
    try:
        v = _open(args).get(args.name, args.version)
    except (ValueError, OSError) as exc:  # RegistryError, ConfigFileError
        return _fail("show", str(exc))
    print(json.dumps(v.as_dict(), indent=2, sort_keys=True))
    return 0


def cmd_models_promote(args: argparse.Namespace) -> int:
    try:
        reg = _open(args)
        before = reg.state(args.name).promoted
        v = reg.promote(args.name, args.version)
    except (ValueError, OSError) as exc:  # RegistryError, ConfigFileError
        return _fail("promote", str(exc))
    if before == v.version:
        print(f"model {args.name}: {v.version} was already promoted")
    else:
        print(f"model {args.name}: promoted {v.version} (was {before or 'none'})")
    return 0


def cmd_models_rollback(args: argparse.Namespace) -> int:
    try:
        reg = _open(args)
        before = reg.state(args.name).promoted
        v = reg.rollback(args.name)
    except (ValueError, OSError) as exc:  # RegistryError, ConfigFileError
        return _fail("rollback", str(exc))
    print(f"model {args.name}: rolled back from {before} to {v.version}")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL})")
    p.add_argument(
        "--registry", help="registry directory (default: [ranking] registry_dir, <state_dir>/models)"
    )
    p.add_argument(
        "--config", help="TOML config naming the registry ([ranking] registry_dir or [stores] state_dir)"
    )


def _add_models_commands(subparsers: Any) -> None:
    """Attach ``models`` and its subcommands to the top-level ``feedmix`` subparsers."""
    p = subparsers.add_parser("models", help="the model registry: list, show, promote, roll back versions")
    msub = p.add_subparsers(dest="models_command", required=True)

    c = msub.add_parser(
        "list",
        help="versions with their data window, rows, code and metrics; * marks the promoted one",
        description="Every registered version of a model, oldest first.",
    )
    _common(c)
    c.add_argument("--json", action="store_true", help="print every version's metadata as JSON")
    c.add_argument(
        "--metrics",
        default=DEFAULT_METRICS,
        help=f"comma-separated name patterns of the metrics to show (default {DEFAULT_METRICS!r}; '*': all)",
    )
    c.set_defaults(func=cmd_models_list)

    c = msub.add_parser("show", help="one version's metadata as JSON")
    c.add_argument("version")
    _common(c)
    c.set_defaults(func=cmd_models_show)

    c = msub.add_parser(
        "promote",
        help="serve a version (refused if its files fail their checksums)",
        description="Make VERSION the promoted one; serving processes watching the registry swap it in.",
    )
    c.add_argument("version")
    _common(c)
    c.set_defaults(func=cmd_models_promote)

    c = msub.add_parser(
        "rollback",
        help="undo the last promotion: serve the previously promoted version again",
    )
    _common(c)
    c.set_defaults(func=cmd_models_rollback)


def cmd_train(args: argparse.Namespace) -> int:
    from feedmix.config import ConfigFileError, FeedmixConfig
    from feedmix.corpus.community_graph import CommunityGraph
    from feedmix.corpus.reddit_corpus import RedditCorpus
    from feedmix.ranking.model_registry import ModelRegistry
    from feedmix.ranking.ranker_training import NotEnoughData, TrainingConfig, train_ranker
    from feedmix.simulation.population import Population

    try:
        cfg = FeedmixConfig.from_toml(args.config) if args.config else FeedmixConfig()
    except ConfigFileError as exc:
        print(f"feedmix train: {exc}", file=sys.stderr)
        return 2
    corpus = RedditCorpus.load(cfg.posts_path(), now=cfg.now)
    graph = CommunityGraph.from_corpus(corpus)
    users = Population.generate(corpus, graph, n_users=cfg.users, seed=cfg.users_seed)
    training = TrainingConfig(
        label_window_s=args.label_window, min_rows=args.min_rows, complete_only=not args.include_open_windows
    )
    from feedmix.ranking.ranker_features import SIGNAL_FEATURES, ranker_feature_names

    signals = None
    features = tuple(f for f in ranker_feature_names() if not args.no_signals or f not in SIGNAL_FEATURES)
    if not args.no_signals:
        from feedmix.signals.corpus_signals import load_corpus_table

        signals = load_corpus_table(cfg.posts_path(), corpus.id_str, Path(cfg.state_dir), cfg.signals_tier)
        if signals is None and not args.quiet:
            print(
                "feedmix train: no content signals for this corpus yet; those features are NaN",
                file=sys.stderr,
            )
    from feedmix.jobs.cli_options import executor_from_args

    try:
        executor = executor_from_args(args, cfg.jobs_executor, cfg.jobs_ray_address)
    except ValueError as exc:
        print(f"feedmix train: {exc}", file=sys.stderr)
        return 2
    try:
        summary = train_ranker(
            args.events or cfg.event_log,
            args.offline or cfg.feature_offline_dir,
            ModelRegistry(args.registry or cfg.ranking_registry_dir),
            corpus,
            graph,
            users,
            served_log_dir=args.served_log or cfg.feature_log_dir,
            config=training,
            promote=args.promote,
            progress=not args.quiet,
            signals=signals,
            features=features,
            executor=executor,
            partitions=args.partitions,
        )
    except NotEnoughData as exc:
        print(f"feedmix train: refused: {exc}", file=sys.stderr)
        return 3
    finally:
        executor.close()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        m = summary["metrics"]
        print(f"registered ranker {summary['version']}{' (promoted)' if summary['promoted'] else ''}")
        print(f"{summary['rows']} impressions, later-slice test rows: {int(m['test_rows'])}")
        print("| head | AUC | heuristic AUC | log loss | base rate |\n|---|---|---|---|---|")
        for head in ("click", "upvote", "comment", "hide"):
            if f"{head}.auc" in m:
                print(
                    f"| {head} | {m[head + '.auc']:.4f} | {m[head + '.heuristic_auc']:.4f} |"
                    f" {m[head + '.logloss']:.4f} | {m[head + '.base_rate']:.4f} |"
                )
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train the multi-task ranker on the event log and register it",
        description="Builds point-in-time training rows from the event log and the offline feature"
        " history, trains click/upvote/comment/hide heads, evaluates them on the latest time slice and"
        " registers the model (promote it with --promote or `feedmix models promote`).",
    )
    p.add_argument("--config", help="TOML config (stores, state_dir, users); defaults otherwise")
    p.add_argument("--events", help="event log URL (default: the config's)")
    p.add_argument("--offline", help="offline feature history dir (default: the config's)")
    p.add_argument("--served-log", help="served-feature log dir (default: the config's)")
    p.add_argument("--registry", help="model registry dir (default: <state_dir>/models)")
    p.add_argument("--label-window", type=float, default=3600.0, help="seconds after an impression")
    p.add_argument("--min-rows", type=int, default=2000, help="refuse to train on fewer impressions")
    p.add_argument("--promote", action="store_true", help="promote the new version at once")
    p.add_argument(
        "--include-open-windows",
        action="store_true",
        help="keep impressions whose label window has not closed (simulated logs, which post"
        " reactions with the impression)",
    )
    p.add_argument(
        "--no-signals",
        action="store_true",
        help="train without the content-signal features (the baseline their AUC change is measured on)",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true")
    add_executor_options(p)
    p.set_defaults(func=cmd_train)
    _add_models_commands(sub)

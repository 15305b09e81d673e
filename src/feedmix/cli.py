"""The ``feedmix`` command line: demo, serve, feed, simulate, bench.

Heavy imports happen inside the subcommands so ``feedmix --help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000"


def _serve(config: Any) -> None:
    import uvicorn

    from feedmix.serving.app import create_app
    from feedmix.serving.runtime import Runtime

    print(f"feedmix: loading {config.posts} posts and {config.users} simulated users...", file=sys.stderr)
    runtime = Runtime.build(config)
    app = create_app(runtime)
    url = f"http://{config.host}:{config.port}"
    print(
        f"feedmix: serving {runtime.corpus.describe()['posts']} posts at {url}  (console: {url}/, API docs:"
        f" {url}/docs)",
        flush=True,
    )
    try:
        # keep-alive longer than a load balancer's idle timeout (60 s on the common ones): a server
        # that closes first races the client's next request on that connection (a ReadError there)
        uvicorn.run(
            app,
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            timeout_keep_alive=75,
        )
    finally:
        runtime.close()


def cmd_demo(args: argparse.Namespace) -> int:
    from feedmix.config import FeedmixConfig

    cfg = FeedmixConfig(host=args.host, port=args.port, posts=args.posts, users=args.users)
    cfg.ads_demo_campaigns = True  # an empty campaign store gets demo campaigns: the feed shows ads
    cfg.shed_target_ms = 50.0  # load shedding as in config/feedmix.toml
    _serve(cfg)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from feedmix.config import FeedmixConfig

    cfg = FeedmixConfig.from_toml(args.config) if args.config else FeedmixConfig()
    if args.port:
        cfg.port = args.port
    _serve(cfg)
    return 0


def _print_feed(body: dict[str, Any], explain: bool) -> None:
    user = body.get("user", {})
    print(
        f"feed for {body['user_id']} ({'cold start' if user.get('cold_start') else 'known user'}),"
        f" coverage {body['coverage']}, degraded {body['degraded']} {body.get('failed_components') or ''}"
    )
    for it in body["items"]:
        if it.get("kind") == "ad":
            print(f"{it['position'] + 1:>3}. [ad]    {it.get('headline', '')}  ({it.get('click_url', '')})")
            continue
        age = it["age_hours"]
        age_s = f"{age:.0f}h" if age < 48 else f"{age / 24:.0f}d"
        head = f"{it['position'] + 1:>3}. [{it['score']:.3f}] r/{it['community']:<18} {age_s:>5}"
        print(f"{head}  {it['title'][:80]}")
        if explain:
            parts = "  ".join(f"{k}={v:.3f}" for k, v in it["score_parts"].items())
            counts = f"post_score={it['post_score']:<6} comments={it['num_comments']:<5}"
            print(f"       source={it['source']:<20} {counts} {parts}")
    if explain and body.get("trace"):
        print("\nstages:")
        for st in body["trace"]["stages"]:
            print(
                f"  {st['stage']:<20} {st['wall_ms']:8.2f} ms wall {st['cpu_ms']:8.2f} ms cpu"
                f"  {st['candidates_in']:>5} -> {st['candidates_out']:<5}"
            )
            for c in st["components"]:
                err = f"  ({c['error']})" if c.get("error") else ""
                # a source's yield: the candidates it returned (before the merge drops duplicates)
                got = f"  {c['candidates_out']:>5} candidates" if c["kind"] == "source" else ""
                print(f"      {c['component']:<26} {c['status']:<8} {c['wall_ms']:7.2f} ms{got}{err}")


def cmd_feed(args: argparse.Namespace) -> int:
    if args.url:
        import httpx

        path = f"/v1/communities/{args.community}/feed" if args.community else "/v1/feed"
        r = httpx.get(
            args.url + path,
            params={"user_id": args.user_id, "limit": args.limit, "debug": str(args.explain).lower()},
            timeout=30,
        )
        if r.status_code != 200:
            print(f"error {r.status_code}: {r.text}", file=sys.stderr)
            return 1
        body = r.json()
    else:
        from feedmix.config import FeedmixConfig
        from feedmix.serving.runtime import Runtime

        runtime = Runtime.build(FeedmixConfig(posts=args.posts, event_log="memory://", users=args.users))
        try:
            pipeline = "community" if args.community else "home"
            body = runtime.feeds.feed(
                pipeline, args.user_id, args.limit, debug=args.explain, community=args.community
            )
        finally:
            runtime.close()
    _print_feed(body, args.explain)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    import httpx

    from feedmix.corpus.community_graph import CommunityGraph
    from feedmix.corpus.reddit_corpus import RedditCorpus
    from feedmix.simulation.behavior import BehaviorModel
    from feedmix.simulation.driver import simulate
    from feedmix.simulation.population import Population

    with httpx.Client(base_url=args.url, timeout=30) as client:
        try:
            health = client.get("/healthz").json()
        except httpx.HTTPError as exc:
            print(f"no feedmix server at {args.url}: {exc}  (start one with `feedmix demo`)", file=sys.stderr)
            return 1
        corpus = (
            RedditCorpus.load(health["corpus"]["source"])
            if args.posts is None
            else RedditCorpus.load(args.posts)
        )
        graph = CommunityGraph.from_corpus(corpus)
        population = Population.generate(corpus, graph, n_users=health["users"], seed=args.users_seed)
        report = simulate(
            client,
            population,
            BehaviorModel(corpus),
            corpus,
            sessions=args.sessions,
            seed=args.seed,
            limit=args.limit,
            progress=not args.quiet,
        )
    print(json.dumps(report.as_dict(), indent=2))
    return 0


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
        )
    except NotEnoughData as exc:
        print(f"feedmix train: refused: {exc}", file=sys.stderr)
        return 3
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


def cmd_bench_serving(args: argparse.Namespace) -> int:
    from feedmix.bench.serving import run_serving_bench

    if args.scenario == "reference":
        return _bench_reference(args)
    args.rate = 50.0 if args.rate is None else args.rate
    args.duration = 30.0 if args.duration is None else args.duration
    args.warmup = 5.0 if args.warmup is None else args.warmup
    users = [f"u{i:04d}" for i in range(1, args.users + 1)] + ["newcomer-1", "newcomer-2"]
    server_cmd = None
    if args.url is None:
        server_cmd = [
            sys.executable,
            "-m",
            "feedmix.cli",
            "demo",
            "--host",
            "127.0.0.1",
            "--port",
            str(args.port),
            "--posts",
            args.posts,
        ]
    result = run_serving_bench(
        args.url,
        rate=args.rate,
        duration_s=args.duration,
        warmup_s=args.warmup,
        users=users,
        limit=args.limit,
        start_server_cmd=server_cmd,
        progress=not args.quiet,
        plot_path=args.plot,
    )
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    print(text)
    return 0


def _bench_reference(args: argparse.Namespace) -> int:
    """The reference scenario; ``--rate``/``--duration``/``--warmup`` override its defaults."""
    import dataclasses

    from feedmix.bench.reference import ReferenceScenario, prepare_reference, run_reference

    if args.url is not None:
        print("feedmix bench: --scenario reference starts its own server; drop --url", file=sys.stderr)
        return 2
    overrides = {
        k: v
        for k, v in (("rate_rps", args.rate), ("duration_s", args.duration), ("warmup_s", args.warmup))
        if v is not None
    }
    scenario = dataclasses.replace(ReferenceScenario(), **overrides)
    if args.prepare_only:
        result = prepare_reference(args.state, scenario, progress=not args.quiet)
    else:
        result = run_reference(
            args.state,
            scenario,
            port=args.port,
            floor_requests=args.floor_requests,
            plot_path=args.plot,
            progress=not args.quiet,
        )
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    print(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="feedmix", description="Personalized feeds with ads mixed in.")
    ap.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="serve the demo (real Reddit posts, simulated users) on 127.0.0.1:8000")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--posts",
        default=os.environ.get("FEEDMIX_POSTS", "demo"),
        help="'demo' (shipped slice), 'full' (428k posts from $FEEDMIX_DATA_DIR or ../shared/data) or a path",
    )
    p.add_argument("--users", type=int, default=2000, help="simulated users the server knows")
    p.set_defaults(fn=cmd_demo)

    p = sub.add_parser("serve", help="serve with a TOML config file")
    p.add_argument("--config", help="TOML file (see config/feedmix.toml)")
    p.add_argument("--port", type=int, default=0, help="override server.port")
    p.set_defaults(fn=cmd_serve)

    p = sub.add_parser("feed", help="print a user's feed in the terminal")
    p.add_argument("user_id")
    p.add_argument("--explain", action="store_true", help="show the source, score parts and stage trace")
    p.add_argument("--limit", type=int, default=25)
    p.add_argument("--community", help="a community feed instead of the home feed")
    p.add_argument("--url", help="ask a running server instead of building one in-process")
    p.add_argument("--posts", default="demo")
    p.add_argument("--users", type=int, default=2000)
    p.set_defaults(fn=cmd_feed)

    p = sub.add_parser("simulate", help="drive simulated users against a running server")
    p.add_argument("--url", default=DEFAULT_URL)
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--users-seed", type=int, default=42, help="must match the server's [users] seed")
    p.add_argument("--posts", default=None, help="corpus path (default: the one the server reports)")
    p.add_argument("--limit", type=int, default=25)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(fn=cmd_simulate)

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
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(fn=cmd_train)
    from feedmix.ranking.models_cli import add_models_commands

    add_models_commands(sub)

    p = sub.add_parser("bench", help="benchmarks that print JSON")
    bsub = p.add_subparsers(dest="bench", required=True)
    # `bench load` is the same open-loop generator under the name operators look for
    for name in ("serving", "load"):
        b = bsub.add_parser(name, help="drive the service at a fixed request rate (open loop)")
        b.add_argument("--url", default=None, help="a running server (default: start the demo on --port)")
        b.add_argument("--port", type=int, default=18123)
        b.add_argument("--posts", default="demo")
        b.add_argument("--rate", type=float, default=None, help="requests per second (default 50)")
        b.add_argument("--duration", type=float, default=None, help="measured seconds (default 30)")
        b.add_argument("--warmup", type=float, default=None, help="seconds before measuring (default 5)")
        b.add_argument(
            "--scenario",
            choices=["reference"],
            help="reference: full corpus, 10k users, 1,000 candidates, trained ranker, ads, plus the"
            " floor (kernels alone) and the overhead ratio; prepared once into --state",
        )
        b.add_argument("--state", default="var/bench/reference", help="the reference scenario's state dir")
        b.add_argument("--prepare-only", action="store_true", help="reference: build the state, no load")
        b.add_argument("--floor-requests", type=int, default=200, help="reference: requests replayed alone")
        b.add_argument("--users", type=int, default=500, help="distinct simulated users to cycle through")
        b.add_argument("--limit", type=int, default=25)
        b.add_argument("--out", help="also write the JSON here")
        b.add_argument("--plot", help="write a latency percentile plot (PNG)")
        b.add_argument("--quiet", action="store_true")
        b.set_defaults(fn=cmd_bench_serving)
    _forward(
        bsub,
        "retrieval",
        "ANN recall@100 and latency on Reddit embeddings and synthetic vectors",
        "feedmix.bench.retrieval",
    )
    _forward(
        bsub,
        "features",
        "read 50 features for 1,000 candidates: in-process, Redis, and Feast",
        "feedmix.bench.features",
    )
    _forward(
        bsub,
        "ads",
        "the ad decision (eligibility, pCTR, auction, pacing, frequency) at 10k and 100k ad groups",
        "feedmix.bench.ads",
    )
    _forward(
        bsub,
        "ranking",
        "score 1,000 candidates x 100 features with every head: native LightGBM and compiled",
        "feedmix.bench.ranking",
    )
    from feedmix.bench.scaling import add_scaling_command

    add_scaling_command(bsub)

    _forward(
        sub,
        "cost",
        "cost per 1,000 requests per component and per owning team, from a bench serving run",
        "feedmix.bench.cost",
    )

    p = sub.add_parser("eval", help="offline quality evaluations that print tables")
    esub = p.add_subparsers(dest="eval", required=True)
    _forward(
        esub,
        "retrieval",
        "MovieLens temporal split: Recall@50 and NDCG@10 per source and union",
        "feedmix.eval.movielens",
    )
    _forward(
        esub,
        "ranking",
        "MovieLens temporal split: the retrieval + ranking stack against popularity, ALS and retrieval",
        "feedmix.eval.movielens_ranking",
    )
    _forward(
        esub,
        "loop",
        "simulated Reddit: AUC per head on a later slice, closed loop heuristic vs trained ranker",
        "feedmix.eval.simulated_ranking",
    )

    p = sub.add_parser("ads", help="ad serving tools: simulate a day, train pCTR from the ad log")
    asub = p.add_subparsers(dest="ads", required=True)
    _forward(
        asub,
        "simulate",
        "a simulated day of ad traffic: delivery against budget, pacing curves, ad load vs engagement",
        "feedmix.ads.simulation.ads_simulation",
    )
    _forward(
        asub,
        "train-pctr",
        "train the position-aware pCTR model from the service's ad log",
        "feedmix.ads.pctr.pctr_training",
    )

    fsub = _features_group(sub)
    _add_training_set_command(fsub)
    _add_features_list_command(fsub)
    _add_index_commands(sub)
    return ap


def _forward(sub: Any, name: str, help_text: str, module: str) -> None:
    """A subcommand whose options belong to ``module.main(argv)``: ``--help`` is answered there."""
    p = sub.add_parser(name, help=help_text, add_help=False)

    def run(args: argparse.Namespace) -> int:
        import importlib

        return int(importlib.import_module(module).main(args.forwarded))

    p.set_defaults(fn=run, forwarded=[])


def _features_group(sub: Any) -> Any:
    """The ``feedmix features`` group; returns its subparsers, to which each subcommand attaches."""
    p = sub.add_parser("features", help="the feature registry and training data built from it")
    return p.add_subparsers(dest="features_command", required=True)


# -- feedmix features list ---------------------------------------------------------------------


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
    p.set_defaults(fn=cmd_features_list)


# -- feedmix features training-set ---------------------------------------------------------------


def cmd_features_training_set(args: argparse.Namespace) -> int:
    from feedmix.features.offline.registry_specs import corpus_post_communities, read_post_communities
    from feedmix.features.offline.training_set import build_training_set

    post_communities = None
    if args.post_communities:
        post_communities = read_post_communities(args.post_communities)
    elif args.posts:
        from feedmix.config import FeedmixConfig
        from feedmix.corpus.reddit_corpus import RedditCorpus
        from feedmix.features.entity_keys import post_keys

        corpus = RedditCorpus.load(FeedmixConfig(posts=args.posts).posts_path())
        ids = [k.decode() for k in post_keys(corpus.ids).tolist()]
        post_communities = corpus_post_communities(ids, corpus.community.tolist(), corpus.communities)
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
    )
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
    p.set_defaults(fn=cmd_features_training_set)


# -- feedmix index build ------------------------------------------------------------------------


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


def _add_index_commands(sub: Any) -> None:
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
    b.set_defaults(fn=cmd_index_build)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and not hasattr(args, "forwarded"):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if hasattr(args, "forwarded"):
        args.forwarded = rest
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.fn(args))
    except BrokenPipeError:  # `feedmix feed u1 | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())

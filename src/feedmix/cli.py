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
        uvicorn.run(app, host=config.host, port=config.port, log_level="warning", access_log=False)
    finally:
        runtime.close()


def cmd_demo(args: argparse.Namespace) -> int:
    from feedmix.config import FeedmixConfig

    _serve(FeedmixConfig(host=args.host, port=args.port, posts=args.posts, users=args.users))
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
                print(f"      {c['component']:<26} {c['status']:<8} {c['wall_ms']:7.2f} ms{err}")


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


def cmd_bench_serving(args: argparse.Namespace) -> int:
    from feedmix.bench.serving import run_serving_bench

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

    p = sub.add_parser("bench", help="benchmarks that print JSON")
    bsub = p.add_subparsers(dest="bench", required=True)
    b = bsub.add_parser("serving", help="drive the service at a fixed request rate (open loop)")
    b.add_argument("--url", default=None, help="a running server (default: start the demo on --port)")
    b.add_argument("--port", type=int, default=18123)
    b.add_argument("--posts", default="demo")
    b.add_argument("--rate", type=float, default=50.0, help="requests per second")
    b.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    b.add_argument("--warmup", type=float, default=5.0)
    b.add_argument("--users", type=int, default=500, help="distinct simulated users to cycle through")
    b.add_argument("--limit", type=int, default=25)
    b.add_argument("--out", help="also write the JSON here")
    b.add_argument("--plot", help="write a latency percentile plot (PNG, needs matplotlib)")
    b.add_argument("--quiet", action="store_true")
    b.set_defaults(fn=cmd_bench_serving)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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

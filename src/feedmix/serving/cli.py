"""``feedmix demo | serve | feed``: run the service, or ask it for one user's feed in the terminal.

Heavy imports happen inside the handlers, so ``feedmix --help`` answers at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

#: how long a SIGTERM waits for in-flight requests before uvicorn cancels them
GRACEFUL_SHUTDOWN_S = 30


def _exit_after_drain(signum: int, frame: Any) -> None:
    """SIGTERM's handler once uvicorn has drained: uvicorn re-raises the signal it caught after its
    graceful shutdown, which under the default handler killed the process before ``runtime.close()``
    (queued event writes, the feature flush, tracer export); an exception runs the ``finally``."""
    raise SystemExit(0)


def _serve(config: Any) -> None:
    import signal

    import uvicorn

    from feedmix.serving.app import create_app
    from feedmix.serving.runtime import Runtime

    print(f"feedmix: loading {config.posts} posts and {config.users} simulated users...", file=sys.stderr)
    runtime = Runtime.build(config)
    app = create_app(runtime)
    url = f"http://{config.host}:{config.port}"
    print(
        f"feedmix: serving {runtime.corpus.describe()['posts']} posts at {url}  (console: {url}/, API docs:"
        f" {url}/docs, GraphQL: {url}/graphql)",
        flush=True,
    )
    grpc_server = _start_grpc(runtime, config)
    try:
        signal.signal(signal.SIGTERM, _exit_after_drain)
        # on SIGTERM uvicorn stops accepting, closes idle connections, lets in-flight requests finish
        # (up to GRACEFUL_SHUTDOWN_S) and answers them with `Connection: close` (ops/haproxy/README.md)
        # keep-alive longer than a load balancer's idle timeout (60 s on the common ones): a server
        # that closes first races the client's next request on that connection (a ReadError there)
        uvicorn.run(
            app,
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            timeout_keep_alive=75,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
    finally:
        if grpc_server is not None:
            grpc_server.stop()
        runtime.close()


def _start_grpc(runtime: Any, config: Any) -> Any:
    """The gRPC ranking service beside the HTTP one, when a port is configured; a port that is taken
    leaves the HTTP API serving and says so (the demo asks for 50051, which may be in use)."""
    if not config.grpc_port:
        return None
    from feedmix.serving.grpc_api.grpc_server import GrpcServer

    try:
        server = GrpcServer(runtime.feeds, config.host, config.grpc_port).start()
    except OSError as e:
        print(f"feedmix: gRPC not started ({e})", file=sys.stderr, flush=True)
        return None
    print(f"feedmix: gRPC ranking service on {server.address} (proto/feedmix/v1/ranking.proto)", flush=True)
    return server


#: the demo's shadow: the home feed without the heuristic's freshness term, on a tenth of the requests
DEMO_SHADOW = {
    "pipeline": "home",
    "sample_rate": 0.1,
    "params": {"heuristic_scorer.w_freshness": 0.0},
    "gates": {
        "rbo": {"min_vs_noise": 0.5},
        "error_rate_delta": {"max": 0.0},
        "latency_p99_delta_ms": {"max": 20.0},
    },
}


def cmd_demo(args: argparse.Namespace) -> int:
    from feedmix.config import FeedmixConfig
    from feedmix.operator_key import OPERATOR_KEY_ENV, ensure_demo_key

    cfg = FeedmixConfig(
        host=args.host, port=args.port, posts=args.posts, users=args.users, grpc_port=args.grpc_port
    )
    cfg.ads_demo_campaigns = True  # an empty campaign store gets demo campaigns: the feed shows ads
    cfg.signals_corpus = "label"  # rate the demo's posts once (brand safety, contextual ads), then reuse
    cfg.shed_target_ms = 50.0  # load shedding as in config/feedmix.toml
    if not args.no_shadow:  # as in config/feedmix.toml: `feedmix shadow report no_freshness`
        cfg.shadows = {"no_freshness": dict(DEMO_SHADOW)}
    key = ensure_demo_key(cfg.state_dir)  # the experiments API and CLI work without a manual step
    print(f"feedmix: operator key {key} ({OPERATOR_KEY_ENV}; the CLI reads {cfg.state_dir}/operator_key)")
    console = f"http://{cfg.host}:{cfg.port}/console"
    print(f"feedmix: every campaign, its spend and pacing: {console}/ads#key={key}")
    _serve(cfg)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from feedmix.config import FeedmixConfig

    cfg = FeedmixConfig.from_toml(args.config) if args.config else FeedmixConfig()
    if args.port:
        cfg.port = args.port
    if args.grpc_port is not None:
        cfg.grpc_port = args.grpc_port
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


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="serve the demo (real Reddit posts, simulated users) on 127.0.0.1:8000")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--posts",
        default=os.environ.get("FEEDMIX_POSTS", "demo"),
        help="'demo' (shipped slice), 'full' (428k posts from $FEEDMIX_DATA_DIR or ../shared/data) or a path",
    )
    p.add_argument("--users", type=int, default=2000, help="simulated users the server knows")
    p.add_argument("--grpc-port", type=int, default=50051, help="the gRPC ranking service (0: off)")
    p.add_argument(
        "--no-shadow",
        action="store_true",
        help="without the demo's shadow (benchmarks measure serving alone)",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", help="serve with a TOML config file")
    p.add_argument("--config", help="TOML file (see config/feedmix.toml)")
    p.add_argument("--port", type=int, default=0, help="override server.port")
    p.add_argument("--grpc-port", type=int, default=None, help="override server.grpc_port (0: off)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("feed", help="print a user's feed in the terminal")
    p.add_argument("user_id")
    p.add_argument("--explain", action="store_true", help="show the source, score parts and stage trace")
    p.add_argument("--limit", type=int, default=25)
    p.add_argument("--community", help="a community feed instead of the home feed")
    p.add_argument("--url", help="ask a running server instead of building one in-process")
    p.add_argument("--posts", default="demo")
    p.add_argument("--users", type=int, default=2000)
    p.set_defaults(func=cmd_feed)

    p = sub.add_parser("replay", help="rerun the served-feature log's requests under a shadow's configs")
    p.add_argument("shadow", help="a shadow of the config ([shadows.<name>])")
    p.add_argument("--config", help="the server's TOML config (its state dir holds the log)")
    p.add_argument("--limit", type=int, help="at most this many logged requests")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("graphql-schema", help="write the GraphQL schema (SDL) clients generate code from")
    p.add_argument("--out", default=None, help="default: the file a test keeps in sync (in the package)")
    p.set_defaults(func=cmd_graphql_schema)

    p = sub.add_parser("grpc-codegen", help="regenerate the gRPC code from proto/feedmix/v1/ranking.proto")
    p.set_defaults(func=cmd_grpc_codegen)


def cmd_replay(args: argparse.Namespace) -> int:
    from feedmix.config import FeedmixConfig
    from feedmix.serving.runtime import Runtime
    from feedmix.serving.shadow_replay import replay

    cfg = FeedmixConfig.from_toml(args.config) if args.config else FeedmixConfig()
    cfg.index_watch_interval_s = cfg.ranking_watch_interval_s = 0.0  # a batch job: no watchers
    runtime = Runtime.build(cfg)
    try:
        path, n = replay(runtime, args.shadow, args.limit)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        runtime.close()
    print(f"replayed {n} logged requests into {path}")
    print(f"compare: feedmix shadow report {args.shadow} --records {path}")
    return 0 if n else 1


def cmd_graphql_schema(args: argparse.Namespace) -> int:
    from pathlib import Path

    from feedmix.serving.graphql_api.schema import SCHEMA_FILE, schema_sdl

    out = Path(args.out) if args.out else SCHEMA_FILE
    out.write_text(schema_sdl())
    print(f"wrote {out}")
    return 0


def cmd_grpc_codegen(args: argparse.Namespace) -> int:
    from feedmix.serving.grpc_api.codegen import REPO, generate

    for path in generate(REPO / "src"):
        print(f"wrote {path}")
    return 0

"""``feedmix bench ...`` and ``feedmix cost``: the benchmarks, each printing JSON.

Most benchmarks own their options (``main(argv)`` in their module, reached by forwarding); the serving
benchmark and the scaling sweeps are declared here, their work imported by the handlers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from feedmix.bench.scaling_defaults import (
    DEFAULT_CANDIDATES,
    DEFAULT_CORPUS_SIZES,
    DEFAULT_PROCESSES,
    DEFAULT_STATE,
    SWEEPS,
)
from feedmix.command_forwarding import forward as _forward


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
            "--no-shadow",
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
    keep_latest_load_run(result)
    print(text)
    return 0


def keep_latest_load_run(result: dict[str, Any]) -> Path:
    """The run and its cost per component and team, where a serving process on this machine finds it
    (``<state>/bench/serving-latest.json``; the console's ops page shows it)."""
    import time

    from feedmix.bench.cost import cost_report
    from feedmix.serving.ops_api import latest_load_run_path

    try:
        cost: dict[str, Any] | None = cost_report(result)
    except ValueError as e:  # a run whose /metrics could not be read: kept, without a cost
        cost = {"error": str(e)}
    path = latest_load_run_path(os.environ.get("FEEDMIX_STATE_DIR", "var"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"saved_at": time.time(), "cost": cost, "run": result}, indent=1) + "\n")
    return path


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
            cache_url=args.cache_url,
        )
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    if not args.prepare_only:
        keep_latest_load_run(result)
    print(text)
    return 0


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v.replace("_", "")) for v in text.split(",") if v.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from exc
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _sweeps(text: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [v for v in values if v not in SWEEPS]
    if bad or not values:
        raise argparse.ArgumentTypeError(f"sweeps are {', '.join(SWEEPS)}; got {text!r}")
    return values


def _add_scaling_command(bsub: Any) -> None:
    b = bsub.add_parser(
        "scaling",
        help="latency and CPU per request against corpus size, candidates per request and processes",
        description="In-process sweeps over corpus size and candidates per request, and an HTTP sweep over"
        " serving processes; prints JSON (progress on stderr).",
    )
    b.add_argument(
        "--sweep", type=_sweeps, default=SWEEPS, help="comma-separated: corpus,candidates,processes"
    )
    b.add_argument("--corpus-sizes", type=_ints, default=DEFAULT_CORPUS_SIZES, help="posts per corpus point")
    b.add_argument("--candidates", type=_ints, default=DEFAULT_CANDIDATES, help="candidates per request")
    b.add_argument(
        "--candidates-posts",
        type=int,
        default=None,
        help="corpus size of the candidates sweep (default: real)",
    )
    b.add_argument("--processes", type=_ints, default=DEFAULT_PROCESSES, help="serving processes")
    b.add_argument("--requests", type=int, default=200, help="measured requests per in-process point")
    b.add_argument("--warmup", type=int, default=30, help="warm-up requests per in-process point")
    b.add_argument(
        "--rate", type=float, default=10.0, help="processes sweep: total requests/s (and per process)"
    )
    b.add_argument("--duration", type=float, default=30.0, help="processes sweep: measured seconds per point")
    b.add_argument("--http-warmup", type=float, default=10.0, help="processes sweep: warm-up seconds")
    b.add_argument(
        "--reference",
        default=os.path.join("var", "bench", "reference"),
        help="reference scenario state dir (prepared if missing); 'none' for a plain config on --posts",
    )
    b.add_argument("--posts", default="full", help="with --reference none: 'demo', 'full' or a path")
    b.add_argument("--state", default=DEFAULT_STATE, help="where index builds are cached per corpus size")
    b.add_argument("--no-isolate", action="store_true", help="run every point in this process")
    b.add_argument("--out", help="also write the JSON here")
    b.add_argument("--markdown", help="write the tables here")
    b.add_argument("--plot", help="write the plot here (PNG)")
    b.add_argument("--quiet", action="store_true")
    b.set_defaults(func=cmd_bench_scaling)


def cmd_bench_scaling(args: argparse.Namespace) -> int:
    from feedmix.bench.scaling import (
        ScalingOptions,
        markdown,
        plain_setup,
        reference_setup,
        run_scaling,
        write_plot,
    )

    progress = not args.quiet
    if args.reference.lower() == "none":
        setup = plain_setup(args.posts, args.state)
    else:
        setup = reference_setup(args.reference, args.state, progress)
    options = ScalingOptions(
        sweeps=args.sweep,
        corpus_sizes=args.corpus_sizes,
        candidates=args.candidates,
        processes=args.processes,
        candidates_posts=args.candidates_posts,
        requests=args.requests,
        warmup=args.warmup,
        rate=args.rate,
        duration_s=args.duration,
        warmup_s=args.http_warmup,
        isolate=not args.no_isolate,
        progress=progress,
    )
    report = run_scaling(setup, options)
    if args.plot:
        report["plot"] = str(args.plot) if write_plot(report, args.plot) else None
    if args.markdown:
        Path(args.markdown).write_text(markdown(report))
        report["markdown"] = str(args.markdown)
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


def register(sub: Any) -> None:
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
        b.add_argument(
            "--cache-url",
            default="memory://",
            help="reference: the server's [cache] url (none:// runs it without a cache)",
        )
        b.add_argument("--users", type=int, default=500, help="distinct simulated users to cycle through")
        b.add_argument("--limit", type=int, default=25)
        b.add_argument("--out", help="also write the JSON here")
        b.add_argument("--plot", help="write a latency percentile plot (PNG)")
        b.add_argument("--quiet", action="store_true")
        b.set_defaults(func=cmd_bench_serving)
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
    _forward(
        bsub,
        "experiments",
        "assignment cost with 20 experiments in 4 layers; request CPU with a 10% shadow against none",
        "feedmix.bench.experiments",
    )
    _forward(
        bsub,
        "signals",
        "content signals per tier on one core: posts/s, p50/p99 per post, cost per 1,000; backfill wall time",
        "feedmix.bench.signals",
    )
    _forward(
        bsub,
        "cache",
        "which shareable work is worth a cache: compute against read, per backend",
        "feedmix.bench.cache",
    )
    _forward(
        bsub,
        "jobs",
        "one batch job (the training-set build) on the local executor and as Ray tasks: wall time, same rows",
        "feedmix.bench.jobs",
    )
    _forward(
        bsub,
        "shards",
        "the content index in 1, 2 and 4 shard processes: recall@100, latency, CPU, one shard killed",
        "feedmix.bench.shards",
    )
    _forward(
        bsub,
        "ingest",
        "aggregate workers draining the event stream: events per second with 1 and 2 workers",
        "feedmix.bench.ingest",
    )
    _forward(
        bsub,
        "failover",
        "kill a Redis Cluster master under load: acknowledged events lost? budget overspent?",
        "feedmix.bench.failover",
    )
    _forward(
        bsub,
        "api",
        "the same feed page over REST, GraphQL and gRPC in one run: p50/p99 and CPU per request",
        "feedmix.bench.api",
    )
    _forward(
        bsub,
        "balancer",
        "N replicas behind HAProxy against one process (throughput, p99), and rolling restarts under load",
        "feedmix.bench.balancer",
    )
    _add_scaling_command(bsub)

    _forward(
        sub,
        "cost",
        "cost per 1,000 requests per component and per owning team, from a bench serving run",
        "feedmix.bench.cost",
    )

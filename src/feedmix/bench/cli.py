"""``feedmix bench ...`` and ``feedmix cost``: the benchmarks, each printing JSON.

Most benchmarks own their options (``main(argv)`` in their module, reached by forwarding); the serving
benchmark and the scaling sweeps are declared here and in ``bench.scaling``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

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

"""``feedmix bench balancer``: N replicas behind HAProxy against one process, in one run and under the
same load; then rolling restarts of every replica under load, with and without draining through the
runtime API, counting the requests that failed.

The load is :func:`feedmix.bench.load.run_load` (open loop, latency from each request's scheduled
time) at each rate of ``--rates``, the same schedule of users against one replica directly and
against the balancer, alternating per rate so that drift on a shared machine hits both. Throughput is
the highest rate a target carried with every request answered and p99 within ``--p99-slo-ms``
(goodput per rate is reported too): past it, a target queues for seconds. The generator, HAProxy and every
replica share this machine's cores: with 2 cores, 2 replicas can at best double one process, minus
what the generator and the balancer use.

During a restart the load runs as consecutive windows of ``--chunk`` seconds (each waits for its own
requests, a gap of one response at most) until the restart has finished, plus one window after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import numpy as np

from feedmix.bench.json_report import emit
from feedmix.bench.load import LoadResult, PathFor, Percentiles, make_client, run_load
from feedmix.bench.local_replicas import LocalReplicas, RestartStep
from feedmix.bench.serving import feed_path_for


def _rates(text: str) -> list[float]:
    values = [float(v) for v in text.split(",") if v.strip()]
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive rates, got {text!r}")
    return values


def _load_summary(r: LoadResult) -> dict[str, Any]:
    return {
        "requests": r.requests,
        "ok": r.ok,
        "errors": dict(r.errors),
        "achieved_rps": round(r.achieved_rps, 2),
        "latency_ms": {k: _round(v) for k, v in r.latency.as_dict().items()},
        "service_ms": {k: _round(v) for k, v in r.service.as_dict().items()},
        "dispatch_lag_p99_ms": _round(r.dispatch_lag_ms.p99),
        "warnings": r.warnings(),
    }


def _carried(steady: list[dict[str, Any]], target: str, p99_slo_ms: float) -> float:
    """The highest rate ``target`` carried: every request answered, p99 within the SLO. Goodput past
    that point is no throughput to plan with (seconds of queueing), and on a shared machine it
    measures the starved generator as much as the server."""
    rates = [0.0]
    for point in steady:
        r = point[target]
        if r["ok"] == r["requests"] and (r["latency_ms"]["p99"] or 0.0) <= p99_slo_ms:
            rates.append(point["rate_rps"])
    return max(rates)


def _round(v: float | int | None) -> float | int | None:
    return round(v, 2) if isinstance(v, float) else v


async def _steady(url: str, path_for: PathFor, rate: float, args: argparse.Namespace) -> LoadResult:
    return await run_load(
        url, path_for, rate, args.duration, args.warmup, max_in_flight=args.max_in_flight, timeout_s=10.0
    )


async def _under_restart(
    url: str, path_for: PathFor, local: LocalReplicas, drain: bool, args: argparse.Namespace
) -> dict[str, Any]:
    async with make_client(args.max_in_flight, 10.0) as client:
        offset = 0

        async def window(seconds: float) -> LoadResult:
            nonlocal offset
            start = offset
            r = await run_load(
                url,
                lambda i: path_for(start + i),
                args.restart_rate,
                seconds,
                client=client,
                max_in_flight=args.max_in_flight,
            )
            offset += r.requests
            return r

        await window(args.warmup)  # connections and caches warm; not counted
        t0 = time.monotonic()
        restart = asyncio.create_task(asyncio.to_thread(local.rolling_restart, drain))
        windows: list[LoadResult] = []
        while not restart.done():
            windows.append(await window(args.chunk))
        restart_s = time.monotonic() - t0
        windows.append(await window(args.chunk))
        steps: list[RestartStep] = await restart
    errors: Counter[str] = Counter()
    for w in windows:
        errors.update(w.errors)
    latencies = np.concatenate([w.latencies_ms for w in windows])
    sent = sum(w.requests for w in windows)
    return {
        "drain_through_runtime_api": drain,
        "rate_rps": args.restart_rate,
        "restart_s": round(restart_s, 2),
        "load_s": round(sum(w.elapsed_s for w in windows), 2),
        "requests": sent,
        "ok": int(latencies.size),
        "failed": sent - int(latencies.size),
        "errors": dict(errors),
        "latency_ms": {k: _round(v) for k, v in Percentiles.of(latencies).as_dict().items()},
        "steps": [{k: _round(v) for k, v in s.as_dict().items()} for s in steps],
    }


def _haproxy_version() -> str | None:
    binary = shutil.which("haproxy")
    if binary is None:
        return None
    out = subprocess.run([binary, "-v"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else None


def run(args: argparse.Namespace) -> dict[str, Any]:
    users = [f"u{i:04d}" for i in range(1, args.users + 1)] + ["newcomer-1", "newcomer-2"]
    path_for = feed_path_for(users, args.limit)
    note = print if not args.quiet else (lambda *a, **k: None)
    t = time.monotonic()
    with LocalReplicas(args.replicas, settings={"users": args.users, "posts": args.posts}) as local:
        note(f"bench balancer: {args.replicas} replicas up in {time.monotonic() - t:.1f} s", file=sys.stderr)
        targets = {"one_process": local.nodes[0].url, "balancer": local.url}
        steady: list[dict[str, Any]] = []
        for k, rate in enumerate(args.rates):
            point: dict[str, Any] = {"rate_rps": rate}
            order = list(targets) if k % 2 == 0 else list(reversed(targets))
            for name in order:
                note(f"bench balancer: {rate:g} req/s against {name}", file=sys.stderr)
                point[name] = _load_summary(asyncio.run(_steady(targets[name], path_for, rate, args)))
            steady.append(point)
        restarts = []
        for drain in (True, False):
            note(f"bench balancer: rolling restart under load, drain={drain}", file=sys.stderr)
            restarts.append(asyncio.run(_under_restart(local.url, path_for, local, drain, args)))
    carried = {name: _carried(steady, name, args.p99_slo_ms) for name in targets}
    return {
        "replicas": args.replicas,
        "posts": args.posts,
        "users": args.users,
        "limit": args.limit,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "max_in_flight": args.max_in_flight,
        "steady": steady,
        "p99_slo_ms": args.p99_slo_ms,
        "carried_rps": carried,
        "throughput_ratio": (
            round(carried["balancer"] / carried["one_process"], 2) if carried["one_process"] else None
        ),
        "rolling_restarts": restarts,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "haproxy": _haproxy_version(),
            "note": "generator, haproxy and every replica share these cores",
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="feedmix bench balancer", description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=2, help="feedmix serve processes behind HAProxy")
    ap.add_argument(
        "--rates", type=_rates, default=_rates("40,60,80,100"), help="requests/s, comma-separated"
    )
    ap.add_argument("--duration", type=float, default=15.0, help="measured seconds per rate and target")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    ap.add_argument("--restart-rate", type=float, default=40.0, help="requests/s during the restarts")
    ap.add_argument("--p99-slo-ms", type=float, default=100.0, help="p99 a carried rate must keep")
    ap.add_argument("--chunk", type=float, default=2.0, help="seconds per load window during a restart")
    ap.add_argument("--max-in-flight", type=int, default=64)
    ap.add_argument("--users", type=int, default=500)
    ap.add_argument("--posts", default="demo")
    ap.add_argument("--limit", type=int, default=25, help="items per page")
    ap.add_argument("--out", help="also write the JSON here")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    result = run(args)
    emit(result, args.out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``feedmix bench ads``: the ad decision (eligibility, frequency, pacing, pCTR, auction, budget reserve).

For each size (default 10k and 100k active ad groups over the demo slice's real community names):
generate the campaigns (seeded, :mod:`feedmix.ads.store.synthetic_campaigns`), train the pCTR model on a
generated log (:mod:`feedmix.ads.pctr.ad_log_generator`, 3 impressions per ad group, at least 200k),
build the targeting index (build seconds and bytes of its arrays reported), then time
``AdServer.decide`` for ``--requests`` random home-feed-like requests with 3 ad slots: wall time
(``perf_counter``) and CPU time of the calling thread (``thread_time``) per decision, p50/p90/p99.

Request clocks advance 10 ms per request (100 requests/s), so the pacing controller's periodic
spend read (every 5 s of request time) lands in a few timed decisions, as it would in serving; its
own cost (one read of every campaign's spend) is reported per backend as ``pacing_update_ms``.
Every decision serves real winners, and impressions are recorded (not timed), so frequency caps
and spend fill up as they would.

Rows: ``in_process`` (memory counters and frequency store) and, with ``--redis-url``, ``redis``
(the shared counters and frequency store in Redis; each decision then has two round trips: the
user's frequency record and the winners' reserve).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from feedmix.ads.decision.ad_decision import AdServer
from feedmix.ads.decision.frequency_caps import FrequencyStore, MemoryFrequencyStore, open_frequency_store
from feedmix.ads.decision.spend_counters import MemorySpendCounters, SpendCounters, open_spend_counters
from feedmix.ads.pctr.ad_log_generator import generate_ad_log
from feedmix.ads.pctr.pctr_model import PctrModel
from feedmix.ads.store.synthetic_campaigns import random_request, synthetic_snapshot
from feedmix.bench.latency_summary import percentiles_ms
from feedmix.config import FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus

N_SLOTS = 3


def _time_decisions(
    server: AdServer, communities: list[str], now: float, n_requests: int, seed: int, progress: bool
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    requests = [random_request(rng, communities, now=now + 0.01 * i) for i in range(n_requests)]
    for req in requests[:20]:  # warm-up: caches of hour masks, first pacing read
        server.decide(req, N_SLOTS)
    wall: list[float] = []
    cpu: list[float] = []
    winners = degraded = eligible = 0
    gc.collect()
    gc.disable()
    try:
        for i, req in enumerate(requests):
            c0 = time.thread_time()
            t0 = time.perf_counter()
            decision = server.decide(req, N_SLOTS)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
            winners += len(decision.winners)
            degraded += decision.degraded
            eligible += int(decision.trace.get("eligible", 0))
            for w in decision.winners:
                server.record_impression(req.user_id, w.served, req.now)
            if progress and (i + 1) % 500 == 0:
                print(f"  {i + 1}/{n_requests}", file=sys.stderr)
    finally:
        gc.enable()
    cpu_ms = np.array(cpu) * 1000.0
    return {
        **percentiles_ms(wall),
        "cpu_p50_ms": round(float(np.percentile(cpu_ms, 50)), 3),
        "cpu_p99_ms": round(float(np.percentile(cpu_ms, 99)), 3),
        "cpu_mean_ms": round(float(cpu_ms.mean()), 3),
        "winners_per_decision": round(winners / n_requests, 3),
        "eligible_mean": round(eligible / n_requests, 1),
        "degraded": degraded,
        "pacing_updates": server.pacer.updates,
    }


def run_ads_bench(
    sizes: list[int],
    *,
    n_requests: int = 2000,
    redis_url: str | None = None,
    seed: int = 0,
    progress: bool = True,
    posts_path: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    corpus = RedditCorpus.load(posts_path if posts_path is not None else FeedmixConfig().posts_path())
    communities = list(corpus.communities)
    now = corpus.now
    report: dict[str, Any] = {
        "n_requests": n_requests,
        "n_slots": N_SLOTS,
        "communities": len(communities),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "sizes": [],
    }
    for n in sizes:
        if progress:
            print(f"ad groups: {n}", file=sys.stderr)
        t = time.perf_counter()
        snapshot = synthetic_snapshot(n, communities, now=now, seed=seed)
        gen_s = time.perf_counter() - t
        log, _ = generate_ad_log(snapshot, max(200_000, 3 * n), seed=seed + 1)
        t = time.perf_counter()
        model = PctrModel.train(log)
        train_s = time.perf_counter() - t
        rows: dict[str, Any] = {}
        backends: list[tuple[str, SpendCounters, FrequencyStore]] = [
            ("in_process", MemorySpendCounters(), MemoryFrequencyStore())
        ]
        if redis_url:
            prefix = f"feedmix-bench-ads-{os.getpid()}"
            sep = "&" if "?" in redis_url else "?"
            url = f"{redis_url}{sep}prefix={prefix}&timeout_ms=1000&connect_timeout_ms=1000"
            backends.append(("redis", open_spend_counters(url), open_frequency_store(url)))
        entry: dict[str, Any] = {"ad_groups": n, "generate_s": round(gen_s, 3), "train_s": round(train_s, 3)}
        for name, counters, frequency in backends:
            server = AdServer(snapshot, counters=counters, frequency=frequency, pctr_model=model, seed=seed)
            index = server.index
            entry.setdefault("index_build_s", round(index.build_seconds, 3))
            entry.setdefault("index_array_mb", round(index.nbytes() / 1e6, 2))
            entry.setdefault("campaigns", index.n_campaigns)
            t = time.perf_counter()
            server.pacer.maybe_update(now + 86_400)  # one spend read of every campaign, timed alone
            pacing_update_ms = round((time.perf_counter() - t) * 1000.0, 3)
            server = AdServer(snapshot, counters=counters, frequency=frequency, pctr_model=model, seed=seed)
            rows[name] = _time_decisions(server, communities, now, n_requests, seed + 2, progress)
            rows[name]["pacing_update_ms"] = pacing_update_ms
            if name == "redis":
                _cleanup_redis(redis_url or "", f"feedmix-bench-ads-{os.getpid()}")
            counters.close()
            frequency.close()
        entry.update(rows)
        report["sizes"].append(entry)
    return report


def _cleanup_redis(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url.split("?")[0])
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i : i + 1000])
    client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="feedmix bench ads", description=__doc__.split("\n")[0] if __doc__ else ""
    )
    parser.add_argument(
        "--groups", default="10000,100000", help="comma-separated numbers of active ad groups"
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--redis-url", default=None, help="also time with counters in this Redis")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--posts", default=None, help="posts file or folder (default: the demo slice)")
    parser.add_argument("--out", default=None, help="also write the JSON report here")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.groups.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--groups {args.groups!r}: integers separated by commas")
    if not sizes or min(sizes) < 1 or args.requests < 1:
        parser.error("--groups and --requests must be positive")
    report = run_ads_bench(
        sizes,
        n_requests=args.requests,
        redis_url=args.redis_url,
        seed=args.seed,
        progress=not args.no_progress,
        posts_path=args.posts,
    )
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

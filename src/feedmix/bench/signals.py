"""``feedmix bench signals``: what labelling a post costs, per tier, on one core.

1. **Throughput**: each tier labels a fixed random sample of corpus posts (seed 0) in batches of 1,024,
   with every thread pool (BLAS, torch) held to one thread: posts per second per core, and the CPU cost
   of 1,000 posts at ``--core-hour-usd``.
2. **Latency**: 300 posts labelled one at a time (the streaming path's worst case, no batching): p50,
   p90, p99 per post.
3. **Stream** (``--stream-rate``): corpus posts appended to a posts log at that rate for
   ``--stream-seconds``, labelled by the production tier's streaming pass as a serving process runs it:
   freshness (arrival to values) p50/p95/p99. Aim: p95 under 5 s (the registry's SLO).
4. **Backfill** (``--backfill``): the production tier labels the whole corpus into a scratch state
   folder (offline archive only), timed from reading the corpus to the last shard. Aim: under 10 minutes
   here; the student at least 2,000 posts per second per core.

The teacher is slow by design (a transformer per post), so it is measured on ``--teacher-sample`` posts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from feedmix.bench.cost import DEFAULT_CORE_HOUR_USD
from feedmix.bench.latency_summary import percentiles_ms
from feedmix.signals.posts import Posts


def _sample(posts: Posts, n: int, seed: int = 0) -> Posts:
    rng = np.random.default_rng(seed)
    return posts.take(sorted(rng.choice(len(posts), size=min(n, len(posts)), replace=False).tolist()))


def measure_tier(tier: str, posts: Posts, latency_posts: int, core_hour_usd: float) -> dict[str, Any]:
    from feedmix.signals.labelers import make_labeler

    labeler = make_labeler(tier)
    labeler.label(posts.take(range(min(64, len(posts)))))  # load models, warm caches
    cpu0, t0 = time.process_time(), time.perf_counter()
    for start in range(0, len(posts), 1024):
        labeler.label(posts.take(range(start, min(start + 1024, len(posts)))))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    samples = []
    for i in range(min(latency_posts, len(posts))):
        one = posts.take([i])
        s = time.perf_counter()
        labeler.label(one)
        samples.append(time.perf_counter() - s)
    return {
        "model_version": labeler.version,
        "posts": len(posts),
        "posts_per_second": round(len(posts) / wall, 1),
        "cpu_seconds_per_1k_posts": round(cpu / len(posts) * 1000, 3),
        "usd_per_1k_posts": round(cpu / len(posts) * 1000 / 3600 * core_hour_usd, 8),
        "per_post_unbatched": percentiles_ms(samples),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    from feedmix.corpus.reddit_corpus import default_data_dir
    from feedmix.signals.corpus_posts import read_corpus_posts

    t0 = time.perf_counter()
    corpus = read_corpus_posts(args.data or default_data_dir())
    read_s = time.perf_counter() - t0
    result: dict[str, Any] = {
        "corpus_posts": len(corpus),
        "read_corpus_seconds": round(read_s, 2),
        "tiers": {},
    }
    with threadpool_limits(limits=1):
        for tier in args.tiers:
            n = args.teacher_sample if tier == "teacher" else args.sample
            print(f"bench signals: {tier} on {n} posts", file=sys.stderr)
            try:
                if tier == "teacher":
                    import torch

                    torch.set_num_threads(1)
                result["tiers"][tier] = measure_tier(
                    tier, _sample(corpus, n), min(args.latency_posts, n), args.core_hour_usd
                )
            except FileNotFoundError as e:
                result["tiers"][tier] = {"unavailable": str(e)}
    if args.stream_rate > 0:
        result["stream"] = _stream(
            corpus, args.backfill_tier, args.stream_rate, args.stream_seconds, args.refine_tier
        )
    if args.backfill:
        result["backfill"] = _backfill(corpus, args.backfill_tier, read_s)
    student = result["tiers"].get("student", {})
    result["aims"] = {
        "student_posts_per_second_per_core": {"aim": 2000, "value": student.get("posts_per_second")},
        "backfill_minutes": {"aim": 10, "value": result.get("backfill", {}).get("wall_minutes")},
    }
    return result


def _stream(
    corpus: Posts, tier: str, rate: float, seconds: float, refine: str | None = None
) -> dict[str, Any]:
    from feedmix.events.backends import open_event_log
    from feedmix.signals.labelers import make_labeler
    from feedmix.signals.new_post import NewPost
    from feedmix.signals.streaming_labeller import StreamingLabeller

    posts = _sample(corpus, int(rate * seconds), seed=1)
    log = open_event_log("memory://", NewPost)
    refiner = make_labeler(refine) if refine else None
    if refiner is not None:
        refiner.label(posts.take(list(range(min(8, len(posts))))))  # load the weights before the clock
    streamer = StreamingLabeller(log, make_labeler(tier), refiner=refiner, poll_s=0.01)
    streamer.start()
    t0 = time.perf_counter()
    sent = 0
    batch = max(1, int(rate / 20))  # 20 arrivals a second, as clients post
    while sent < len(posts):
        due = t0 + sent / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        rows = range(sent, min(sent + batch, len(posts)))
        now = time.time()
        log.append(
            [
                NewPost(
                    event_id=f"bench{posts.ids[i]}",
                    subreddit=posts.subreddit[i],
                    title=posts.title[i],
                    selftext=posts.selftext[i][:20_000],
                    over_18=bool(posts.over_18[i]),
                    received_at=now,
                )
                for i in rows
            ]
        )
        sent += len(rows)
    deadline = time.time() + (300 if refiner is not None else 30)
    while time.time() < deadline and any(streamer.lag().values()):
        time.sleep(0.05)
    streamer.close()
    passes = {
        name: {"labelled": len(ages), **_seconds(percentiles_ms(list(ages)))}
        for name, ages in streamer.recent_freshness.items()
    }
    fresh = [
        rec["labelled_at"] - rec["received_at"]
        for i in range(len(posts))
        if (rec := streamer.signals_of(f"bench{posts.ids[i]}")) is not None
    ]
    return {
        "tier": tier,
        "rate_posts_per_second": rate,
        "posts": len(posts),
        "labelled": len(fresh),
        "freshness_s": _seconds(percentiles_ms(fresh)),
        "per_pass": passes,
    }


def _seconds(ms: dict[str, float]) -> dict[str, float]:
    return {k.replace("_ms", "_s"): round(v / 1000, 3) for k, v in ms.items()}


def _backfill(corpus: Posts, tier: str, read_s: float) -> dict[str, Any]:
    from feedmix.signals.backfill import backfill
    from feedmix.signals.labelers import make_labeler
    from feedmix.signals.signal_archive import SignalArchive

    labeler = make_labeler(tier)
    with tempfile.TemporaryDirectory(prefix="feedmix-bench-signals-") as scratch:
        t0 = time.perf_counter()
        report = backfill(labeler, corpus, SignalArchive(Path(scratch), tier, labeler.version), progress=True)
        wall = time.perf_counter() - t0 + read_s
    return {
        "tier": tier,
        "model_version": labeler.version,
        "posts": report.posts_labelled,
        "wall_seconds": round(wall, 1),
        "wall_minutes": round(wall / 60, 2),
        "posts_per_second": report.posts_per_second,
        "threads": "default (2 cores here)",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="feedmix bench signals", description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="posts file or data root (default ../shared/data)")
    ap.add_argument("--tier", action="append", dest="tiers", help="repeat (default rules, student, teacher)")
    ap.add_argument("--sample", type=int, default=20_000)
    ap.add_argument("--teacher-sample", type=int, default=1_000)
    ap.add_argument("--latency-posts", type=int, default=300)
    ap.add_argument("--backfill", action="store_true", help="also time a full-corpus backfill")
    ap.add_argument("--backfill-tier", default="student", help="the tier of the backfill and the stream")
    ap.add_argument("--stream-rate", type=float, default=200.0, help="posts per second arriving (0: skip)")
    ap.add_argument("--stream-seconds", type=float, default=10.0)
    ap.add_argument(
        "--refine-tier", default=None, help="a second streaming pass that refines the labels (teacher)"
    )
    ap.add_argument("--core-hour-usd", type=float, default=DEFAULT_CORE_HOUR_USD)
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    args.tiers = args.tiers or ["rules", "student", "teacher"]
    result = run(args)
    text = json.dumps(result, indent=1)
    print(text)
    from feedmix.signals.registry import save_report
    from feedmix.signals.signal_models import state_dir

    save_report(state_dir(), "bench", result)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

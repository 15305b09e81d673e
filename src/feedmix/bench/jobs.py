"""``feedmix bench jobs``: one batch job's wall time on the local executor and on a Ray cluster.

The job is the training-set build (``feedmix features training-set``) over a synthetic world made
the way serving makes one: a seeded event log of impressions and the clicks, votes and hides they
cause, counted by the streaming aggregator and flushed every ten simulated minutes through the
write-through store into the offline feature history. The build runs in this process in one
partition (the default), in this process in N user shards (what sharding alone costs), and as N Ray
tasks on a cluster, for each N of ``--partitions``: a one-machine cluster this command starts
(``ray start --head``) unless ``--ray-address`` names one. All the tables must be equal to the first,
or the command fails.

Wall time is the build alone, from the call to the Parquet file, after the event export (done once,
before the timed runs, and shared by them); starting the cluster and joining it are reported
separately, as they are paid once per cluster, not per job.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from feedmix.jobs.executor import Executor

DAY = 86_400.0
T0 = 1_376_870_400.0  # a UTC midnight: the timeline crosses date partitions


def make_world(
    root: Path, *, users: int, posts: int, impressions: int, days: float, seed: int
) -> dict[str, Any]:
    """The event log (SQLite) and the offline feature history of a seeded synthetic feed."""
    from feedmix.events.backends import open_event_log
    from feedmix.events.post_ids import int_to_post_id
    from feedmix.events.schema import Event
    from feedmix.features.definitions import default_registry
    from feedmix.features.memory_online_store import MemoryOnlineStore
    from feedmix.features.offline.feature_log import OfflineFeatureStore
    from feedmix.features.offline_write_through import OfflineWriteThroughStore
    from feedmix.features.streaming_aggregates import EngagementAggregator

    rng = random.Random(seed)
    communities = [f"c{i}" for i in range(max(1, posts // 100))]
    post_ints = [36**3 + 7 * k for k in range(posts)]
    post_ids = [int_to_post_id(p) for p in post_ints]
    community_of_post = {p: k % len(communities) for k, p in enumerate(post_ints)}
    raw: list[tuple[float, str, str, str]] = []
    for _ in range(impressions):
        ts = T0 + rng.uniform(0, days * DAY)
        user, k = f"u{rng.randrange(users)}", min(int(rng.paretovariate(1.2)) - 1, posts - 1)
        raw.append((ts, "impression", user, post_ids[k]))
        for kind, p, hi in (("click", 0.1, 900.0), ("upvote", 0.04, 5400.0), ("hide", 0.02, 300.0)):
            if rng.random() < p:
                raw.append((ts + rng.uniform(0.5, hi), kind, user, post_ids[k]))
    raw.sort()
    events = [
        Event(event_id=f"e{n}", type=kind, user_id=u, post_id=p, ts=round(ts, 3))  # type: ignore[arg-type]
        for n, (ts, kind, u, p) in enumerate(raw, start=1)
    ]
    url = f"sqlite:///{root / 'events.db'}"
    log = open_event_log(url)
    for i in range(0, len(events), 5000):
        log.append(events[i : i + 5000])
    log.close()

    now = [T0]
    registry = default_registry()
    store = OfflineWriteThroughStore(
        MemoryOnlineStore(registry, clock=lambda: now[0]),
        OfflineFeatureStore(root / "features", durable=False),
        flush_rows=5000,
        flush_interval_s=None,
        clock=lambda: now[0],
    )

    def community_of(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.array([community_of_post.get(int(i), -1) for i in ids], dtype=np.int64)

    agg = EngagementAggregator(community_of, communities, clock=lambda: now[0])
    i = 0
    for step in range(1, int(days * DAY / 600) + 2):
        now[0] = T0 + 600.0 * step
        batch = []
        while i < len(events) and (events[i].ts or 0.0) <= now[0]:
            batch.append(events[i])
            i += 1
        agg.apply(batch, now=now[0])
        agg.flush(store, now=now[0])
    store.close()
    table = pa.table(
        {"post_id": post_ids, "community": [communities[community_of_post[p]] for p in post_ints]}
    )
    return {"url": url, "features": root / "features", "post_communities": table, "events": len(events)}


def timed_build(
    world: dict[str, Any], out: Path, work: Path, executor: Executor, partitions: int
) -> dict[str, Any]:
    from feedmix.features.offline.training_set import build_training_set

    t0 = time.perf_counter()
    summary = build_training_set(
        world["url"],
        world["features"],
        out,
        post_communities=world["post_communities"],
        work_dir=work,
        progress=False,
        executor=executor,
        partitions=partitions,
    )
    return {
        "executor": executor.name,
        "partitions": partitions,
        "wall_s": round(time.perf_counter() - t0, 3),
        "rows": summary["rows"],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from feedmix.features.offline.training_set import build_training_set
    from feedmix.jobs.backends import make_executor
    from feedmix.jobs.local_ray_cluster import LocalRayCluster

    with tempfile.TemporaryDirectory(prefix="feedmix-bench-jobs-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        world = make_world(
            root,
            users=args.users,
            posts=args.posts,
            impressions=args.impressions,
            days=args.days,
            seed=args.seed,
        )
        world_s = time.perf_counter() - t0
        # the export, once: every timed build reads the same exported events
        build_training_set(
            world["url"],
            world["features"],
            root / "warm.parquet",
            post_communities=world["post_communities"],
            work_dir=root / "export",
            progress=False,
        )
        local = make_executor("local")
        runs = {"local": timed_build(world, root / "local.parquet", root / "export", local, 1)}
        for n in args.partitions:
            runs[f"local_{n}_shards"] = timed_build(
                world, root / f"local_{n}_shards.parquet", root / "export", local, n
            )
        cluster = None
        t0 = time.perf_counter()
        if args.ray_address is None:
            cluster = LocalRayCluster(cpus=args.ray_cpus)
        start_s = time.perf_counter() - t0
        try:
            t0 = time.perf_counter()
            ray = make_executor("ray", cluster.address if cluster is not None else args.ray_address)
            connect_s = time.perf_counter() - t0
            try:
                for n in args.partitions:
                    runs[f"ray_{n}_shards"] = timed_build(
                        world, root / f"ray_{n}_shards.parquet", root / "export", ray, n
                    )
                cpus = ray.parallelism
            finally:
                ray.close()
        finally:
            if cluster is not None:
                cluster.stop()
        reference = pq.read_table(root / "local.parquet")
        equal = {name: pq.read_table(root / f"{name}.parquet").equals(reference) for name in runs}
    return {
        "job": "training-set build (feedmix features training-set)",
        "world": {
            "users": args.users,
            "posts": args.posts,
            "impressions": args.impressions,
            "events": world["events"],
            "days": args.days,
            "seed": args.seed,
            "setup_s": round(world_s, 1),
        },
        "ray": {
            "cluster": "started here: ray start --head" if cluster is not None else args.ray_address,
            "cpus": cpus,
            "start_s": round(start_s, 2) if cluster is not None else None,
            "connect_s": round(connect_s, 2),
        },
        "runs": runs,
        "same_table_as_local": equal,
        "ray_over_local_wall": {
            n: round(runs[f"ray_{n}_shards"]["wall_s"] / runs["local"]["wall_s"], 3) for n in args.partitions
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="feedmix bench jobs", description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=5000)
    ap.add_argument("--posts", type=int, default=20_000)
    ap.add_argument("--impressions", type=int, default=300_000)
    ap.add_argument("--days", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--partitions",
        type=lambda v: [int(n) for n in v.split(",")],
        default=[2, 4],
        help="user shards of the sharded and the Ray runs, comma-separated (default 2,4)",
    )
    ap.add_argument("--ray-address", default=None, help="a running cluster's head (default: start one here)")
    ap.add_argument("--ray-cpus", type=int, default=2, help="cores of the cluster started here")
    ap.add_argument("--out", help="also write the JSON here (docs/bench/jobs-<date>.json)")
    args = ap.parse_args(argv)
    result = run(args)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0 if all(result["same_table_as_local"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

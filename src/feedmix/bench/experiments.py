"""``feedmix bench experiments``: what experiments and shadows cost a request.

1. **Assignment**: 20 running experiments in 4 layers (5 per layer, each a fifth of it, a global and
   a layer holdout), on the home surface, and 20,000 distinct users: the assigner's own work per request
   (hashes, slice search, targeting, the overrides merged), and the whole param hydrator (the user's
   profile read from the directory as well). Aim: under 50 microseconds per request.
2. **Shadow**: two services on the demo corpus in one process, the same requests sent to both in
   turn (ABAB, so machine noise falls on both): one without a shadow, one shadowing 10% of its
   requests. The request path's CPU (the request thread's clock around the whole feed call, the
   response and the shadow's queue put included, plus the pool's share) must stay within 5% of the
   shadow-free service; the shadow's own CPU is reported per
   sampled and per served request (it is the price ``feedmix cost`` puts on a shadow).
3. **Campaign knobs**: one ad server over 2,000 synthetic ad groups, the same requests decided with
   and without a running campaign-unit experiment (ABAB): the extra per decision (a bid gather, the
   exposed campaigns), and the one-off mapping of the index's campaigns to their arms.
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

from feedmix.experiments.assignment import Assigner, Visitor
from feedmix.experiments.model import Experiment, Variant, check_definition

LAYERS = 4
PER_LAYER = 5


def experiments(layers: int = LAYERS, per_layer: int = PER_LAYER) -> list[Experiment]:
    out = []
    share = (1.0 - 0.05) / per_layer
    for layer in range(layers):
        for k in range(per_layer):
            exp = check_definition(
                Experiment(
                    experiment_id=f"bench-l{layer}-e{k}",
                    owner="bench",
                    hypothesis="assignment cost",
                    surfaces=("home",),
                    variants=(
                        Variant("control", 1.0),
                        Variant("treatment", 1.0, {f"knob{layer}_{k}.value": 1.0}),
                    ),
                    layer=f"layer{layer}",
                    allocation=share,
                )
            )
            out.append(exp.replace(status="running", range_start=0.05 + k * share))
    return out


def bench_assignment(users: int = 20_000, repeats: int = 3) -> dict[str, Any]:
    exps = experiments()
    assigner = Assigner(exps, {"global": 0.02, **{f"layer{i}": 0.05 for i in range(LAYERS)}})
    visitors = [Visitor(f"u{i:06d}", f"r{i:06d}", known=True) for i in range(users)]
    best = float("inf")
    assigned = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        for v in visitors:
            got = assigner.assign("home", v)
            assigner.overrides(got)
        best = min(best, time.perf_counter() - t0)
    for v in visitors[:2000]:
        assigned += len(assigner.assign("home", v))
    return {
        "experiments": len(exps),
        "layers": LAYERS,
        "users": users,
        "us_per_request": best / users * 1e6,
        "experiments_per_request": assigned / 2000,
        "aim_us": 50.0,
    }


def bench_hydrator(users: int = 2000, repeats: int = 3) -> dict[str, Any]:
    """The param hydrator as serving calls it: directory read, visitor, assignment, overrides."""
    from feedmix.components.query_hydrators.experiment_assignment_hydrator import ExperimentAssignmentHydrator
    from feedmix.core.params import ParamRegistry
    from feedmix.core.query import Deadline, Query
    from feedmix.corpus.community_graph import CommunityGraph
    from feedmix.corpus.reddit_corpus import RedditCorpus
    from feedmix.simulation.population import Population

    corpus = RedditCorpus.load()
    population = Population.generate(corpus, CommunityGraph.from_corpus(corpus), n_users=users, seed=42)
    handle = _FixedAssigner(Assigner(experiments(), {"global": 0.02}))
    hydrator = ExperimentAssignmentHydrator("experiments", population, handle)  # type: ignore[arg-type]
    params = ParamRegistry().defaults()
    queries = [
        Query(u.user_id, "home", params, Deadline.from_ms(1000), f"r{i}", now=0.0)
        for i, u in enumerate(population.users)
    ]
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for q in queries:
            hydrator.hydrate(q)
        best = min(best, time.perf_counter() - t0)
    return {"users": users, "us_per_request": best / len(queries) * 1e6}


class _FixedAssigner:
    def __init__(self, assigner: Assigner) -> None:
        self._a = assigner

    def current(self) -> Assigner:
        return self._a


def bench_shadow(requests: int = 600, sample_rate: float = 0.1, users: int = 500) -> dict[str, Any]:
    from feedmix.config import FeedmixConfig
    from feedmix.serving.runtime import Runtime

    shadow = {"pipeline": "home", "sample_rate": sample_rate, "params": {"heuristic_scorer.w_affinity": 0.5}}
    with tempfile.TemporaryDirectory(prefix="feedmix-bench-shadow-") as tmp:
        base: dict[str, Any] = {
            "users": users,
            "index_watch_interval_s": 0.0,
            "ranking_watch_interval_s": 0.0,
        }
        off = Runtime.build(FeedmixConfig(state_dir=str(Path(tmp) / "off"), **base))
        on = Runtime.build(FeedmixConfig(state_dir=str(Path(tmp) / "on"), shadows={"bench": shadow}, **base))
        try:
            assert on.shadows is not None
            cpu: dict[str, list[float]] = {"off": [], "on": []}
            for i in range(requests + 50):  # the first 50 of each warm up
                user = f"u{(i % users) + 1:04d}"
                for name, rt in (("off", off), ("on", on)) if i % 2 == 0 else (("on", on), ("off", off)):
                    result: list[Any] = []
                    original = rt.executor.run

                    def run(
                        pipeline: Any, query: Any, _orig: Any = original, _out: list[Any] = result, **kw: Any
                    ) -> Any:
                        r = _orig(pipeline, query, **kw)
                        _out.append(r)
                        return r

                    rt.executor.run = run  # type: ignore[method-assign]
                    t0 = time.thread_time()
                    try:
                        rt.feeds.feed("home", user, limit=25)
                    finally:
                        rt.executor.run = original  # type: ignore[method-assign]
                    thread_ms = (time.thread_time() - t0) * 1000.0
                    if i >= 50:  # the request thread (response included) plus the pool's share
                        cpu[name].append(thread_ms + sum(st.pool_cpu_ms for st in result[0].trace.stages))
            on.shadows.drain(120)
            from feedmix.shadow.record import read_records

            records = read_records(Path(tmp) / "on" / "shadow" / "bench" / "records.jsonl")
            shadow_cpu = [
                sum(a.cpu_ms for name, a in r.arms.items() if name != "production") for r in records
            ]
        finally:
            off.close()
            on.close()
    off_ms, on_ms = float(np.mean(cpu["off"])), float(np.mean(cpu["on"]))
    return {
        "requests": requests,
        "sample_rate": sample_rate,
        "request_cpu_ms_shadow_off": off_ms,
        "request_cpu_ms_shadow_on": on_ms,
        "ratio_on_over_off": on_ms / off_ms,
        "aim_ratio_max": 1.05,
        "sampled_requests": len(records),
        "shadow_cpu_ms_per_sampled_request": float(np.mean(shadow_cpu)) if shadow_cpu else None,
        "shadow_cpu_ms_per_served_request": float(np.sum(shadow_cpu)) / (requests + 50)
        if shadow_cpu
        else None,
    }


def bench_campaign_knobs(
    groups: int = 2000, requests: int = 2000, repeats: int = 3, seed: int = 7
) -> dict[str, Any]:
    from feedmix.ads.decision.ad_decision import AdServer, CampaignKnobs
    from feedmix.ads.decision.frequency_caps import MemoryFrequencyStore
    from feedmix.ads.decision.spend_counters import MemorySpendCounters
    from feedmix.ads.decision.targeting_index import TargetingIndex
    from feedmix.ads.store.synthetic_campaigns import random_request, synthetic_snapshot
    from feedmix.experiments.assignment import BID_MULTIPLIER

    now = 1_376_006_400.0 + 12 * 3600.0
    communities = [f"comm{i}" for i in range(30)]
    server = AdServer(
        synthetic_snapshot(groups, communities, now=now, seed=seed),
        counters=MemorySpendCounters(),
        frequency=MemoryFrequencyStore(),
        seed=1,
    )
    exp = check_definition(
        Experiment(
            experiment_id="bench-auto-bid",
            owner="bench",
            hypothesis="campaign knob cost",
            surfaces=("home",),
            variants=(Variant("control", 1.0), Variant("auto_bid", 1.0, {BID_MULTIPLIER: 2.0})),
            layer="campaigns",
            unit="campaign",
            primary_metric="ad_revenue_per_campaign",
        )
    ).replace(status="running", range_start=0.0)
    assigner = Assigner([exp])
    t0 = time.perf_counter()
    arms = assigner.campaign_arms(server.index.campaign_ids, "home")
    in_exp = np.array([c in arms.assigned for c in server.index.campaign_ids], dtype=bool)
    knobs = CampaignKnobs(arms.bid_multiplier, in_exp)
    build_ms = (time.perf_counter() - t0) * 1000.0

    def knobs_of(index: TargetingIndex) -> CampaignKnobs:
        return knobs

    rng = np.random.default_rng(seed)
    reqs = [random_request(rng, communities, now=now) for _ in range(requests)]
    best = {"off": float("inf"), "on": float("inf")}
    exposed = 0
    stage_ms: list[float] = []
    for _ in range(repeats):
        for name, k in (("off", None), ("on", knobs_of), ("off", None), ("on", knobs_of)):
            t = time.perf_counter()
            for r in reqs:
                d = server.decide(r, 3, reserve=False, knobs=k)
                exposed += int(d.exposed_campaign_rows.size)
                if k is not None:
                    stage_ms.append(d.trace["timings_ms"]["knobs"])
            best[name] = min(best[name], time.perf_counter() - t)
    return {
        "ad_groups": groups,
        "campaigns": len(server.index.campaign_ids),
        "in_experiment": int(in_exp.sum()),
        "decide_us_without": best["off"] / requests * 1e6,
        "decide_us_with": best["on"] / requests * 1e6,
        "ratio": best["on"] / best["off"],
        # the knobs stage alone (bids scaled, exposed campaigns found); the rest of the difference is
        # the auction deciding among higher bids
        "knobs_stage_us_median": float(np.median(stage_ms)) * 1000.0,
        "exposed_campaigns_per_decision": exposed / (2 * repeats * requests),
        "index_mapping_ms": build_ms,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="feedmix bench experiments", description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=20_000, help="distinct users for the assignment loop")
    ap.add_argument("--requests", type=int, default=600, help="requests per service in the shadow run")
    ap.add_argument("--sample-rate", type=float, default=0.1)
    ap.add_argument("--skip-shadow", action="store_true")
    ap.add_argument("--skip-campaign", action="store_true")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    result: dict[str, Any] = {"assignment": bench_assignment(args.users), "hydrator": bench_hydrator()}
    if not args.skip_campaign:
        result["campaign_knobs"] = bench_campaign_knobs()
    if not args.skip_shadow:
        result["shadow"] = bench_shadow(args.requests, args.sample_rate)
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

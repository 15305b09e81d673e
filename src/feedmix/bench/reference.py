"""The reference scenario: one serving workload that everyone measures the same way.

``feedmix bench serving --scenario reference`` prepares (once) and serves this workload:

* the full Reddit corpus (428,667 posts from ``../shared/data``), a faiss IVF content index over it
  and an ALS collaborative index trained on the scenario's own event log;
* 10,000 simulated users (the population seed of ``[users]``); load comes from the first 1,000;
* about 1,000 candidates per request: every source's budget is scaled so the merged union is a
  little over 1,000 and ``pipeline.max_candidates`` cuts it to exactly 1,000;
* the ranker trained by ``feedmix train`` on 1,500 simulated sessions against this same service
  (every registry feature plus the context features: see :func:`feature_count`), promoted;
* 2,000 ad groups of synthetic advertisers in the campaign store, so every page runs the ad
  decision and blends ads;
* load shedding off (it would change the workload under load), one serving process.

Preparation is the slow part (index builds, the simulated sessions, training): it is cached in the
state directory with a fingerprint of everything above, so a rerun only measures. Why a prepared
state and not a synthetic one: the point is to measure what the product serves, with the model,
features and ads it really has; a workload that is cheaper than production flatters every number.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCENARIO_VERSION = 1
MARKER = "reference.json"

#: the home sources' budgets at 1,000 candidates (scaled linearly for other sizes); the sum is a
#: little over the target so the union after de-duplication still fills it
_BASE_BUDGETS: dict[str, float] = {
    "joined_communities.per_community": 40,
    "trending.limit": 300,
    "fresh.limit": 100,
    "related_communities.per_community": 15,
    "embedding_content.k": 200,
    "embedding_collab.k": 200,
    "exploration.limit": 40,
}


@dataclass(frozen=True)
class ReferenceScenario:
    """The workload's parameters; changing any of them re-prepares the state."""

    posts: str = "full"
    users: int = 10_000
    request_users: int = 1_000
    collect_sessions: int = 1_500
    ad_groups: int = 2_000
    candidates: int = 1_000
    rate_rps: float = 20.0
    duration_s: float = 60.0
    warmup_s: float = 20.0
    seed: int = 11

    def request_user_ids(self) -> list[str]:
        from feedmix.simulation.population import user_id_for

        return [user_id_for(i) for i in range(min(self.request_users, self.users))]


def candidate_budget_params(candidates: int) -> dict[str, Any]:
    """Home-pipeline params that give about ``candidates`` candidates per request after the merge.

    Every source's budget is scaled by ``candidates / 1000`` from the reference mix, so the mix of
    sources stays the same across sizes (a scaling curve then measures size, not a different mix).
    """
    if candidates < 1:
        raise ValueError(f"candidates must be at least 1, got {candidates}")
    scale = candidates / 1000.0
    params: dict[str, Any] = {k: max(1, round(v * scale)) for k, v in _BASE_BUDGETS.items()}
    params["pipeline.max_candidates"] = int(candidates)
    return params


def feature_count() -> int:
    """Features per candidate the trained ranker reads (context + every registry feature)."""
    from feedmix.ranking.ranker_features import ranker_feature_names

    return len(ranker_feature_names())


def reference_config(
    state_dir: str | Path,
    scenario: ReferenceScenario = ReferenceScenario(),
    *,
    port: int = 8000,
    candidates: int | None = None,
    posts: str | None = None,
    cache_url: str = "memory://",
) -> Any:
    """The serving config of the scenario (a :class:`~feedmix.config.FeedmixConfig`); ``cache_url``
    is the shareable-work cache (``none://`` measures the scenario without one)."""
    from feedmix.config import FeedmixConfig

    state = Path(state_dir).resolve()
    return FeedmixConfig(
        host="127.0.0.1",
        port=port,
        posts=posts or scenario.posts,
        users=scenario.users,
        state_dir=str(state),
        shed_target_ms=0.0,
        index_build_on_start=True,
        index_watch_interval_s=0.0,
        ranking_watch_interval_s=0.0,
        pipeline_params={"home": candidate_budget_params(candidates or scenario.candidates)},
        cache_url=cache_url,
    )


def write_config_toml(cfg: Any, path: str | Path) -> Path:
    """``cfg`` as the TOML file ``feedmix serve --config`` reads, so the server serves what the
    benchmark configured (and a reader can start the same server by hand)."""
    out = Path(path)
    out.write_text(cfg.to_toml("written by `feedmix bench serving --scenario reference`"))
    return out


def fingerprint(scenario: ReferenceScenario) -> dict[str, Any]:
    from feedmix.ranking.ranker_features import ranker_feature_names

    return {
        "version": SCENARIO_VERSION,
        "scenario": dataclasses.asdict(scenario),
        "features": list(ranker_feature_names()),
    }


def prepared(state_dir: str | Path, scenario: ReferenceScenario) -> dict[str, Any] | None:
    """The preparation summary if ``state_dir`` holds this scenario's state, else None."""
    marker = Path(state_dir) / MARKER
    try:
        summary: dict[str, Any] = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return summary if summary.get("fingerprint") == fingerprint(scenario) else None


def prepare_reference(
    state_dir: str | Path, scenario: ReferenceScenario = ReferenceScenario(), *, progress: bool = True
) -> dict[str, Any]:
    """Build the scenario's state in ``state_dir`` unless it is already there; returns its summary.

    A state made for other parameters (or another feature list) is deleted and rebuilt: mixing
    them would measure neither.
    """
    done = prepared(state_dir, scenario)
    if done is not None:
        return done
    from feedmix.ads.store.backends import open_campaign_store
    from feedmix.ads.store.demo_campaigns import seed_demo_campaigns
    from feedmix.corpus.reddit_corpus import RedditCorpus
    from feedmix.eval.learning_loop import run_sessions, train_on_collected
    from feedmix.retrieval.collab_index import NotEnoughInteractions, build_collab_index
    from feedmix.retrieval.embeddings.als_trainer import ALSParams
    from feedmix.retrieval.index_build import COLLAB_DIR

    state = Path(state_dir).resolve()
    if state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True)
    t0 = time.perf_counter()
    cfg = dataclasses.replace(reference_config(state, scenario), feature_log_sample_rate=0.2)
    say = _say if progress else (lambda _m: None)
    say(f"reference: loading the corpus ({cfg.posts})")
    corpus = RedditCorpus.load(cfg.posts_path(), now=cfg.now)
    store = open_campaign_store(cfg.ads_store)
    try:
        seeded = seed_demo_campaigns(store, corpus, time.time(), n_groups=scenario.ad_groups)
    finally:
        store.close()
    say(f"reference: {seeded} ad groups seeded; {scenario.collect_sessions} simulated sessions to train on")
    report, _ = run_sessions(
        cfg, corpus, scenario.collect_sessions, scenario.seed, run_id="reference-collect", progress=progress
    )
    say("reference: training the collaborative (ALS) index on the sessions' events")
    try:
        collab: dict[str, Any] = build_collab_index(
            cfg.event_log,
            Path(cfg.index_dir) / COLLAB_DIR,
            "auto",
            als=ALSParams(num_threads=2),
            progress=progress,
        )
        collab_summary: dict[str, Any] = {"version": collab["version"], "users": collab["users"]}
    except NotEnoughInteractions as exc:
        collab_summary = {"skipped": str(exc)}
    say("reference: training the ranker")
    trained = train_on_collected(cfg, corpus, progress=progress)
    summary = {
        "fingerprint": fingerprint(scenario),
        "corpus": corpus.describe(),
        "ad_groups": seeded,
        "collect": {
            "sessions": scenario.collect_sessions,
            "impressions": report.impressions,
            "ctr": report.ctr,
        },
        "collab_index": collab_summary,
        "ranker": {"version": trained["version"], "features": feature_count(), "rows": trained["rows"]},
        "prepare_s": round(time.perf_counter() - t0, 1),
    }
    (state / MARKER).write_text(json.dumps(summary, indent=2) + "\n")
    say(f"reference: prepared in {summary['prepare_s']} s")
    return summary


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_reference(
    state_dir: str | Path,
    scenario: ReferenceScenario = ReferenceScenario(),
    *,
    port: int = 18123,
    floor_requests: int = 200,
    floor_reps: int = 5,
    plot_path: str | Path | None = None,
    progress: bool = True,
    cache_url: str = "memory://",
) -> dict[str, Any]:
    """Prepare if needed, serve the scenario from a separate process under open-loop load, then
    measure the floor in this process on the same state and users; returns the JSON report.

    The server is stopped before the floor is measured, so the two never share the CPU.
    """
    from feedmix.bench.floor import measure_floor, overhead_ratio
    from feedmix.bench.serving import run_serving_bench
    from feedmix.serving.runtime import Runtime

    prep = prepare_reference(state_dir, scenario, progress=progress)
    state = Path(state_dir).resolve()
    cfg = reference_config(state, scenario, port=port, cache_url=cache_url)
    config_path = write_config_toml(cfg, state / "feedmix.toml")
    users = scenario.request_user_ids()
    cmd = [sys.executable, "-m", "feedmix.cli", "serve", "--config", str(config_path), "--port", str(port)]
    load = run_serving_bench(
        None,
        rate=scenario.rate_rps,
        duration_s=scenario.duration_s,
        warmup_s=scenario.warmup_s,
        users=users,
        start_server_cmd=cmd,
        progress=progress,
        plot_path=plot_path,
        startup_timeout_s=900.0,
    )
    if progress:
        _say("reference: measuring the floor (the kernels alone, same state, same users)")
    # no served-feature logging here: side effects are not kernels, and the log feeds training
    runtime = Runtime.build(dataclasses.replace(cfg, feature_log_sample_rate=0.0))
    try:
        floor = measure_floor(runtime, users[:floor_requests], reps=floor_reps, progress=progress)
    finally:
        runtime.close()
    cpu = load.get("server_cpu_ms_per_request")
    return {
        "scenario": {**dataclasses.asdict(scenario), "features_per_candidate": feature_count()},
        "config": str(config_path),
        "cache_url": cache_url,
        "caches": load.get("caches", {}),
        "prepared": prep,
        "latency_ms": load["latency_ms"],
        "server_cpu_ms_per_request": cpu,
        "floor_cpu_ms_per_request": floor["floor_cpu_ms_per_request"],
        "floor_ratio": overhead_ratio(cpu, floor["floor_cpu_ms_per_request"]),
        "floor": floor,
        "load": load,
    }

"""The learning loop on simulated users, in one process: serve, log, train, promote, serve again.

``collect`` runs simulated sessions against a real runtime (the FastAPI app through an in-process
client, so requests take the same path as over HTTP): the feed is ranked, impressions and
reactions go through ``POST /v1/events`` into the event log, the aggregates flush into the online
store and the offline history, and a share of requests is written to the served-feature log.
``feedmix train`` then has exactly what it has in production. ``closed_loop`` compares two rankers
on fresh sessions of the same users (same seeds, so the user draws are common random numbers) and
reports engagement per session with a 95% confidence interval of the difference.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from feedmix.config import FeedmixConfig
from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.ranking.model_registry import ModelRegistry
from feedmix.ranking.ranker_training import TrainingConfig, train_ranker
from feedmix.serving.runtime import Runtime
from feedmix.simulation.behavior import BehaviorModel
from feedmix.simulation.driver import SimulationReport, mean_ci95, simulate
from feedmix.simulation.population import Population


@dataclass
class Collected:
    report: SimulationReport
    config: FeedmixConfig
    elapsed_s: float


def loop_config(state_dir: str | Path, **overrides: Any) -> FeedmixConfig:
    """A runtime config for the loop: everything under ``state_dir``, the event log in SQLite."""
    state = Path(state_dir)
    base: dict[str, Any] = {
        "state_dir": str(state),
        "event_log": f"sqlite:///{(state / 'events.db').resolve()}",
        "index_watch_interval_s": 0.0,
        "ranking_watch_interval_s": 0.0,
    }
    base.update(overrides)
    return FeedmixConfig(**base)


def run_sessions(
    cfg: FeedmixConfig,
    corpus: RedditCorpus,
    sessions: int,
    seed: int,
    *,
    run_id: str,
    limit: int = 25,
    progress: bool = False,
    params: dict[str, Any] | None = None,
    surface: str = "home",
) -> tuple[SimulationReport, np.ndarray[Any, Any]]:
    """``sessions`` simulated sessions against a fresh runtime of ``cfg``; returns the report and
    the per-session engagement. ``params`` become the home pipeline's param overrides; ``surface``
    is the feed the simulated users read (``home`` or ``discovery``)."""
    from fastapi.testclient import TestClient

    from feedmix.serving.app import create_app

    if params:
        merged = {**cfg.pipeline_params.get("home", {}), **params}
        cfg = dataclasses.replace(cfg, pipeline_params={**cfg.pipeline_params, "home": merged})
    rt = Runtime.build(cfg, corpus=corpus)
    try:
        population = rt.population
        with TestClient(create_app(rt)) as client:
            report = simulate(
                client,
                population,
                BehaviorModel(corpus),
                corpus,
                sessions=sessions,
                seed=seed,
                limit=limit,
                progress=progress,
                run_id=run_id,
                surface=surface,
            )
    finally:
        rt.close()
    return report, np.asarray(report.per_session, dtype=np.float64)


def train_on_collected(cfg: FeedmixConfig, corpus: RedditCorpus, *, progress: bool = False) -> dict[str, Any]:
    """Train the ranker on what ``run_sessions`` logged under ``cfg``, register it in ``cfg``'s
    registry and promote it; returns ``train_ranker``'s summary.

    Simulated sessions post each reaction with its impression, so open label windows are complete.
    """
    graph = CommunityGraph.from_corpus(corpus)
    population = Population.generate(corpus, graph, n_users=cfg.users, seed=cfg.users_seed)
    return train_ranker(
        cfg.event_log,
        cfg.feature_offline_dir,
        ModelRegistry(cfg.ranking_registry_dir),
        corpus,
        graph,
        population,
        served_log_dir=cfg.feature_log_dir,
        config=TrainingConfig(complete_only=False),
        promote=True,
        progress=progress,
    )


def closed_loop(baseline: np.ndarray[Any, Any], treatment: np.ndarray[Any, Any]) -> dict[str, Any]:
    """Means with 95% intervals, and the paired difference (same users, same seeds)."""
    mb, cb = mean_ci95(baseline)
    mt, ct = mean_ci95(treatment)
    md, cd = mean_ci95(treatment - baseline)
    return {
        "sessions": len(baseline),
        "baseline": {"mean": mb, "ci95": cb},
        "treatment": {"mean": mt, "ci95": ct},
        "difference": {"mean": md, "ci95": cd},
        "relative": md / mb if mb else None,
    }

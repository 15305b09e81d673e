"""Wires a process: corpus, community graph, users, stores, pipelines, executor, services.

Everything external is opened by URL from the config, so the same code runs embedded (SQLite,
in-process stores) or against Redis, and tests can build a runtime on in-memory backends.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from feedmix.config import FeedmixConfig
from feedmix.core.executor import PipelineExecutor
from feedmix.core.pipeline import Pipeline, PipelineConfig
from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.events.event_log import EventLog, open_event_log
from feedmix.events.ingest import EventIngestor
from feedmix.products.community_feed import COMMUNITY_FEED
from feedmix.products.components import FeedDeps, product_registry
from feedmix.products.home_feed import HOME_FEED
from feedmix.serving.feed_service import FeedService
from feedmix.simulation.population import Population
from feedmix.stores.seen_store import open_seen_store
from feedmix.stores.session_store import open_session_store

log = logging.getLogger(__name__)

PIPELINES: dict[str, dict[str, Any]] = {"home": HOME_FEED, "community": COMMUNITY_FEED}


@dataclass
class Runtime:
    config: FeedmixConfig
    corpus: RedditCorpus
    graph: CommunityGraph
    population: Population
    event_log: EventLog
    ingestor: EventIngestor
    pipelines: dict[str, Pipeline]
    executor: PipelineExecutor
    feeds: FeedService
    started_at: float

    @classmethod
    def build(cls, config: FeedmixConfig | None = None, corpus: RedditCorpus | None = None) -> Runtime:
        cfg = config or FeedmixConfig()
        t0 = time.perf_counter()
        corpus = corpus or RedditCorpus.load(cfg.posts_path(), now=cfg.now)
        graph = CommunityGraph.from_corpus(corpus)
        population = Population.generate(corpus, graph, n_users=cfg.users, seed=cfg.users_seed)
        if cfg.event_log.startswith("sqlite:///"):
            from pathlib import Path

            Path(cfg.event_log[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        event_log = open_event_log(cfg.event_log)
        seen = open_seen_store(cfg.seen_store)
        sessions = open_session_store(cfg.session_store)
        deps = FeedDeps(corpus=corpus, graph=graph, users=population, seen=seen, sessions=sessions)
        registry = product_registry()
        pipelines = {}
        for name, raw in PIPELINES.items():
            spec = dict(raw)
            spec["params"] = {**raw.get("params", {}), **cfg.pipeline_params.get(name, {})}
            pipelines[name] = Pipeline.build(PipelineConfig.from_dict(name, spec), registry, deps)
        executor = PipelineExecutor(workers=cfg.workers)
        feeds = FeedService(pipelines, executor, corpus, sessions, now=cfg.now)
        log.info("runtime ready in %.1f s: %s", time.perf_counter() - t0, corpus.describe())
        return cls(
            config=cfg,
            corpus=corpus,
            graph=graph,
            population=population,
            event_log=event_log,
            ingestor=EventIngestor(event_log, seen),
            pipelines=pipelines,
            executor=executor,
            feeds=feeds,
            started_at=time.time(),
        )

    def close(self) -> None:
        self.executor.shutdown()
        self.event_log.close()

"""Wires a process: corpus, community graph, users, stores, pipelines, executor, services.

Everything external is opened by URL from the config, so the same code runs embedded (SQLite,
in-process stores) or against Redis, and tests can build a runtime on in-memory backends.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from feedmix.ads.ads_runtime import AdsRuntime, open_ads
from feedmix.ads.store.asset_store import AssetStore
from feedmix.ads.store.backends import open_campaign_store
from feedmix.ads.store.campaign_store import CampaignStore
from feedmix.ads.store.demo_campaigns import seed_demo_campaigns
from feedmix.config import FeedmixConfig
from feedmix.core.executor import PipelineExecutor
from feedmix.core.load_shedding import SheddingParams
from feedmix.core.otel_tracing import NOOP_TRACER, OtelRequestTracer, RequestTracer
from feedmix.core.pipeline import ComponentSpec, Pipeline, PipelineConfig
from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.events.backends import open_event_log
from feedmix.events.event_log import EventLog
from feedmix.events.ingest import EventConsumer, EventIngestor
from feedmix.events.log_tailer import LogTailer
from feedmix.events.replay import replay_recent
from feedmix.experiments.experiments_runtime import ExperimentsRuntime, open_experiments
from feedmix.features.aggregate_flusher import AggregateFlusher
from feedmix.features.backends import open_online_store
from feedmix.features.definitions import default_registry
from feedmix.features.offline.served_log import ServedFeatureLog
from feedmix.features.offline_write_through import OfflineWriteThroughStore
from feedmix.features.online_store import OnlineStore
from feedmix.features.stored_post_counts import StoredPostCounts
from feedmix.features.streaming_aggregates import EngagementAggregator, corpus_community_of
from feedmix.products import PIPELINES
from feedmix.products.components import FeedDeps, product_registry
from feedmix.ranking.model_handle import ModelHandle
from feedmix.ranking.multitask_ranker import MultiTaskRanker
from feedmix.ranking.ranker_loading import PinnedRanker, ranker_handle
from feedmix.retrieval.engagement_counts import EngagementCounts
from feedmix.retrieval.served_indexes import RetrievalIndexes
from feedmix.serving.feed_service import FeedService
from feedmix.serving.shadow_runner import ShadowRunner, ShadowSpec
from feedmix.signals.corpus_signals import CorpusSignals
from feedmix.signals.post_signal_table import PostSignalTable
from feedmix.signals.signals_runtime import SignalsRuntime, open_signals, production_labeler
from feedmix.simulation.population import Population
from feedmix.stores.backends import (
    open_cache,
    open_preference_store,
    open_seen_store,
    open_session_store,
)
from feedmix.stores.preference_store import PreferenceStore
from feedmix.users.recent_engagements import RecentEngagements

log = logging.getLogger(__name__)


class _Closeable(Protocol):
    def close(self) -> None: ...


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
    #: the feature store and what feeds it (None only in runtimes built by hand)
    online_store: OnlineStore | None = None
    aggregator: EngagementAggregator | None = None
    flusher: AggregateFlusher | None = None
    served_feature_log: ServedFeatureLog | None = None
    offline_history: OfflineWriteThroughStore | None = None
    #: the embedding sources' ANN indexes (watched for new builds) and the recent engagements
    indexes: RetrievalIndexes | None = None
    recent_engagements: RecentEngagements | None = None
    #: the promoted ranker, swapped in by its watcher
    ranker: ModelHandle[MultiTaskRanker] | None = None
    #: the advertisers' campaigns and creative images (the advertiser API and the ad server read them)
    campaigns: CampaignStore | None = None
    assets: AssetStore | None = None
    #: the ad server, its feed blender and its tracker (None with ``[ads] enabled = false``)
    ads: AdsRuntime | None = None
    #: the experiment store, assigner and exposure log (None with ``[experiments] enabled = false``)
    experiments: ExperimentsRuntime | None = None
    #: new posts in and their signals out (None with ``[signals] enabled = false``)
    signals: SignalsRuntime | None = None
    #: the served corpus' signals, loaded or labelled in the background (None: ``[signals] corpus = "off"``)
    corpus_signals: CorpusSignals | None = None
    #: the config's shadows (None without ``[shadows.<name>]``)
    shadows: ShadowRunner | None = None

    #: viewers' feed settings (NSFW, muted communities, show fewer), which become a feed's params
    preferences: PreferenceStore | None = None
    #: what ``close`` releases, in the reverse order of opening (see ``build``)
    resources: ExitStack | None = None

    @classmethod
    def build(cls, config: FeedmixConfig | None = None, corpus: RedditCorpus | None = None) -> Runtime:
        """Open everything in dependency order on one exit stack: if any step raises, what was
        already opened is closed again (no client, thread or file left behind), and ``close``
        releases it all in the reverse order, so each part outlives whatever uses it."""
        cfg = config or FeedmixConfig()
        t0 = time.perf_counter()
        corpus = corpus or RedditCorpus.load(cfg.posts_path(), now=cfg.now)
        graph = CommunityGraph.from_corpus(corpus)
        population = Population.generate(corpus, graph, n_users=cfg.users, seed=cfg.users_seed)
        with ExitStack() as stack:
            if cfg.event_log.startswith("sqlite:///"):
                Path(cfg.event_log[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
            event_log = _opened(stack, open_event_log(cfg.event_log))
            seen = _opened(stack, open_seen_store(cfg.seen_store))
            sessions = _opened(stack, open_session_store(cfg.session_store))
            preferences = _opened(stack, open_preference_store(cfg.preference_store))
            cache = _opened(stack, open_cache(cfg.cache_url))
            campaigns = _opened(stack, open_campaign_store(cfg.ads_store))
            assets = AssetStore(cfg.ads_assets_dir)
            if cfg.ads_demo_campaigns:
                seeded = seed_demo_campaigns(campaigns, corpus, time.time())
                if seeded:
                    log.info("seeded %d demo ad groups into the empty campaign store", seeded)
            ads = _opened(stack, open_ads(cfg, campaigns, corpus)) if cfg.ads_enabled else None
            corpus_signals = None
            if cfg.signals_enabled and cfg.signals_corpus != "off":
                # the corpus' content signals: brand safety and contextual targeting, insights
                def ready(table: PostSignalTable) -> None:
                    if ads is not None:
                        ads.feed_ads.signals = table

                corpus_signals = CorpusSignals(
                    cfg.posts_path(),
                    production_labeler(cfg.signals_tier, Path(cfg.state_dir)),
                    Path(cfg.state_dir),
                    ready,
                    label_missing=cfg.signals_corpus == "label",
                    corpus_ids=corpus.id_str,
                    tier=cfg.signals_tier,
                )
                _opened(stack, corpus_signals.start())
            experiments = (
                _opened(
                    stack,
                    open_experiments(
                        cfg.experiments_store,
                        cfg.exposure_log,
                        corpus.community_id,
                        cfg.experiments_refresh_interval_s,
                    ),
                )
                if cfg.experiments_enabled
                else None
            )
            online_store = _opened(stack, open_online_store(cfg.feature_store, default_registry()))
            signals = (
                _opened(
                    stack,
                    open_signals(
                        cfg.signals_posts_log,
                        cfg.feature_store,
                        cfg.state_dir,
                        cfg.signals_tier,
                        cfg.signals_refine,
                    ),
                )
                if cfg.signals_enabled
                else None
            )
            # the aggregates are written through to the offline history, so training sets see the
            # values serving saw and when; feed reads go to the online store directly
            offline_history = (
                None
                if cfg.feature_offline_dir == "off"
                else _opened(
                    stack, OfflineWriteThroughStore(online_store, cfg.feature_offline_dir, owns_online=False)
                )
            )
            aggregate_sink: OnlineStore = offline_history if offline_history is not None else online_store
            recent = RecentEngagements()
            # inline: this process counts what it ingests and writes the rows (one server); workers:
            # it only logs events, aggregate workers count them in Redis and write the rows, and
            # exploration reads the counts back from those rows
            aggregator = flusher = None
            engagement: EngagementCounts
            if cfg.feature_aggregates == "inline":
                aggregator = EngagementAggregator(corpus_community_of(corpus), corpus.communities)
                engagement = aggregator
            else:
                engagement = StoredPostCounts(online_store)
            # workers mode: a user's events arrive through any replica, so the recent engagements
            # follow the shared log (a LogTailer) instead of this replica's own ingestion
            in_process: list[EventConsumer] = [aggregator, recent] if aggregator is not None else [recent]
            consumers = in_process if aggregator is not None else []
            replayed_to = 0
            if cfg.feature_replay_window_s > 0:  # before serving: counts as they were before the restart
                try:
                    replayed = replay_recent(event_log, in_process, time.time(), cfg.feature_replay_window_s)
                    replayed_to = replayed.last_offset
                except Exception:  # an unreachable log must not stop the feed; counts start from zero
                    log.warning("could not replay the event log into the aggregates", exc_info=True)
            if aggregator is None:
                _opened(stack, LogTailer(event_log, [recent], after=replayed_to).start())
            else:
                flusher = _opened(
                    stack, AggregateFlusher(aggregator, aggregate_sink, cfg.feature_flush_interval_s)
                )
            served_log = _opened(stack, ServedFeatureLog(cfg.feature_log_dir))
            # builds the content index if missing; its watcher and the ranker's stop first on close
            indexes = _opened(
                stack,
                RetrievalIndexes.open(
                    cfg.index_dir,
                    corpus,
                    build_on_start=cfg.index_build_on_start,
                    build_kind=cfg.index_build_kind,
                    shards=cfg.index_shards,
                ),
            )
            ranker = _opened(stack, ranker_handle(cfg.ranking_registry_dir, cfg.ranking_runtime))
            ranker.reload()  # the promoted ranker, if any; a refused one leaves the heuristic ranking
            deps = FeedDeps(
                corpus=corpus,
                graph=graph,
                users=population,
                seen=seen,
                sessions=sessions,
                engagement=engagement,
                online_store=online_store,
                served_feature_log=served_log,
                content_index=indexes.content,
                collab_index=indexes.collab,
                recent_engagements=recent,
                ranker_models=ranker,
                ads=ads.feed_ads if ads is not None else None,
                experiments=experiments.assigner if experiments is not None else None,
                exposures=experiments.exposures if experiments is not None else None,
                request_stats=experiments.request_stats if experiments is not None else None,
                corpus_signals=corpus_signals,
                cache=cache,
            )
            pipelines = build_pipelines(cfg, deps)
            shadows = build_shadows(cfg, deps, corpus)
            if shadows is not None:
                stack.callback(shadows.close)  # before the stores and the ad server it reads close
            tracer = build_tracer(cfg)
            stack.callback(tracer.shutdown)  # exports the queued spans (bounded by the exporter timeout)
            shedding = SheddingParams(target_ms=cfg.shed_target_ms) if cfg.shed_target_ms > 0 else None
            executor = PipelineExecutor(workers=cfg.workers, tracer=tracer, shedding=shedding)
            stack.callback(executor.shutdown)  # first on close: waits for the side effects' last rows
            feeds = FeedService(
                pipelines, executor, corpus, now=cfg.now, shadows=shadows, preferences=preferences
            )
            if cfg.index_watch_interval_s > 0:
                indexes.start_watching(cfg.index_watch_interval_s)
            if cfg.ranking_watch_interval_s > 0:
                ranker.start_watching(cfg.ranking_watch_interval_s)
            runtime = cls(
                config=cfg,
                corpus=corpus,
                graph=graph,
                population=population,
                event_log=event_log,
                ingestor=EventIngestor(event_log, seen, consumers=consumers),
                pipelines=pipelines,
                executor=executor,
                feeds=feeds,
                started_at=time.time(),
                online_store=online_store,
                aggregator=aggregator,
                flusher=flusher,
                offline_history=offline_history,
                served_feature_log=served_log,
                indexes=indexes,
                recent_engagements=recent,
                ranker=ranker,
                campaigns=campaigns,
                assets=assets,
                ads=ads,
                experiments=experiments,
                signals=signals,
                corpus_signals=corpus_signals,
                shadows=shadows,
                preferences=preferences,
                resources=stack.pop_all(),
            )
        log.info("runtime ready in %.1f s: %s", time.perf_counter() - t0, corpus.describe())
        return runtime

    def close(self) -> None:
        if self.resources is not None:
            self.resources.close()
            self.resources = None


_C = TypeVar("_C", bound=_Closeable)


def _opened(stack: ExitStack, resource: _C) -> _C:
    """``resource``, closed by ``stack`` (in the reverse order of opening)."""
    stack.callback(resource.close)
    return resource


def product_config(cfg: FeedmixConfig, name: str) -> dict[str, Any]:
    """A product's pipeline config with this process's param defaults: the config's
    ``[pipelines.<name>]`` params, the served-feature log's sample rate, and ads off with
    ``[ads] enabled = false``."""
    raw = PIPELINES[name]
    spec = dict(raw)
    spec["params"] = {
        **raw.get("params", {}),
        **_feature_log_params(raw, cfg.feature_log_sample_rate),
        **({} if cfg.ads_enabled else _ads_off(raw)),
        **cfg.pipeline_params.get(name, {}),
    }
    return spec


def build_pipelines(cfg: FeedmixConfig, deps: FeedDeps) -> dict[str, Pipeline]:
    """Every product's pipeline (see ``product_config``)."""
    registry = product_registry()
    return {
        name: Pipeline.build(PipelineConfig.from_dict(name, product_config(cfg, name)), registry, deps)
        for name in PIPELINES
    }


def build_shadows(cfg: FeedmixConfig, deps: FeedDeps, corpus: RedditCorpus) -> ShadowRunner | None:
    """The config's shadows over dependencies that write nothing: the ad server's dry-run view, no
    exposure or served-feature sinks (their pipelines have no side effects anyway); a shadow with a
    ``model_version`` ranks its candidate with that registered version, loaded and checked now."""
    specs = [ShadowSpec.from_config(name, table) for name, table in cfg.shadows.items()]
    if not specs:
        return None
    quiet = dataclasses.replace(
        deps,
        ads=deps.ads.dry_run_view() if deps.ads is not None else None,
        exposures=None,
        request_stats=None,
        served_feature_log=None,
    )
    registry = product_registry()

    def build(name: str, raw: dict[str, Any], spec: ShadowSpec | None) -> Pipeline:
        deps = quiet
        if spec is not None and spec.model_version is not None:  # the candidate tests another ranker
            pinned = PinnedRanker(cfg.ranking_registry_dir, spec.model_version, cfg.ranking_runtime)
            deps = dataclasses.replace(quiet, ranker_models=pinned)
        return Pipeline.build(PipelineConfig.from_dict(name, raw), registry, deps)

    return ShadowRunner(
        specs,
        build,
        {name: product_config(cfg, name) for name in PIPELINES},
        Path(cfg.state_dir) / "shadow",
        corpus,
    )


def build_tracer(cfg: FeedmixConfig) -> RequestTracer:
    """OpenTelemetry spans to ``[observability] otlp_endpoint``; without one, the no-op tracer.

    The SDK is imported and built only when an endpoint is configured, so tracing costs an
    untraced process nothing but a no-op call per request.
    """
    if not cfg.otlp_endpoint:
        return NOOP_TRACER
    log.info("exporting request traces to %s", cfg.otlp_endpoint)
    return OtelRequestTracer.otlp(cfg.otlp_endpoint, cfg.otel_service_name, cfg.trace_sample_rate)


def _feature_log_params(raw: dict[str, Any], sample_rate: float) -> dict[str, float]:
    """``[features] log_sample_rate`` as the default of each served-feature log's ``sample_rate``."""
    out: dict[str, float] = {}
    for slot in raw.get("side_effects", ()):
        spec = ComponentSpec.parse(slot)
        if spec.type == "serving_feature_log_side_effect":
            out[f"{spec.identifier}.sample_rate"] = sample_rate
    return out


def _ads_off(raw: dict[str, Any]) -> dict[str, bool]:
    """The kill switch of every ads blender of a pipeline, off."""
    specs = [ComponentSpec.parse(s) for s in raw.get("blenders", ())]
    return {f"{s.identifier}.enabled": False for s in specs if s.type == "ads_blender"}

"""What the product components are built from: data and stores, wired once per process.

A component names what it needs by constructor parameter (``corpus``, ``seen``, ``online_store``...);
``Component.from_deps`` hands it the field of the same name, so wiring a new component is nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from feedmix.ads.decision.feed_ads import FeedAds
from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.experiments.assigner_handle import AssignerHandle
from feedmix.experiments.exposure import ExposureLogger
from feedmix.experiments.request_stats import RequestStats
from feedmix.features.offline.served_log import ServedFeatureLog
from feedmix.features.online_store import OnlineStore
from feedmix.ranking.model_source import ModelSource
from feedmix.retrieval.engagement_counts import EngagementCounts
from feedmix.retrieval.served_indexes import ServedIndex
from feedmix.signals.corpus_signals import CorpusSignals
from feedmix.stores.cache import Cache
from feedmix.stores.seen_store import SeenStore
from feedmix.stores.session_store import FeedSessionStore
from feedmix.users.directory import UserDirectory
from feedmix.users.recent_engagements import RecentEngagements


@dataclass
class FeedDeps:
    corpus: RedditCorpus
    graph: CommunityGraph
    users: UserDirectory
    seen: SeenStore
    sessions: FeedSessionStore
    engagement: EngagementCounts | None = None
    #: the online feature store the ``online_features`` hydrator reads
    online_store: OnlineStore | None = None
    #: the sink of the ``serving_feature_log`` side effect
    served_feature_log: ServedFeatureLog | None = None
    #: the ANN indexes of the embedding sources (None or empty: those sources return nothing)
    content_index: ServedIndex | None = None
    collab_index: ServedIndex | None = None
    #: recent clicks/upvotes per user, blended into the content query vector
    recent_engagements: RecentEngagements | None = None
    #: the promoted ranker (a model handle over the registry; None: the heuristic ranks)
    ranker_models: ModelSource | None = None
    #: the ad server's page mixer (None: the process serves no ads)
    ads: FeedAds | None = None
    #: the running experiments' assigner and the exposure log (None: no experiments)
    experiments: AssignerHandle | None = None
    exposures: ExposureLogger | None = None
    request_stats: RequestStats | None = None
    #: the served corpus' content signals, loaded in the background (None: ``[signals] corpus = "off"``)
    corpus_signals: CorpusSignals | None = None
    #: the cache of shareable work (``[cache] url``; None: each component keeps its own in-process one)
    cache: Cache | None = None

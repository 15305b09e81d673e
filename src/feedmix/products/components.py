"""The registry of component types the product pipelines may name in their configuration.

Adding a component is one module plus one line here; a pipeline config then refers to it by
type name, with options for static settings and params for per-request knobs.
"""

from __future__ import annotations

from typing import TypeVar

from feedmix.ads.ad_slots_selector import AdSlotsSelector
from feedmix.core.pipeline import ComponentRegistry
from feedmix.features.online_features_hydrator import OnlineFeaturesHydrator
from feedmix.features.post_features_hydrator import PostFeaturesHydrator
from feedmix.features.serving_log_side_effect import ServingFeatureLogSideEffect
from feedmix.filters.duplicate_content_filter import DuplicateContentFilter
from feedmix.filters.nsfw_filter import NsfwFilter
from feedmix.filters.seen_posts_filter import SeenPostsFilter
from feedmix.products.community_context_hydrator import CommunityContextHydrator
from feedmix.products.deps import FeedDeps
from feedmix.products.served_mix_side_effect import ServedMixSideEffect
from feedmix.ranking.community_diversity_selector import CommunityDiversitySelector
from feedmix.ranking.exploration_propensity import ExplorationPropensityScorer
from feedmix.ranking.exploration_slots_selector import ExplorationSlotsSelector
from feedmix.ranking.heuristic_scorer import HeuristicScorer
from feedmix.ranking.ranker_scorer import RankerScorer
from feedmix.ranking.rescoring_rules import DiversityPenalty, FreshnessBoost
from feedmix.retrieval.community_posts_source import CommunityPostsSource
from feedmix.retrieval.embedding_source import EmbeddingSource
from feedmix.retrieval.exploration_source import ExplorationSource
from feedmix.retrieval.fresh_source import FreshSource
from feedmix.retrieval.related_communities_source import RelatedCommunitiesSource
from feedmix.retrieval.trending_source import TrendingSource
from feedmix.users.seen_posts_hydrator import SeenPostsHydrator
from feedmix.users.session_served_hydrator import SessionServedHydrator
from feedmix.users.user_embedding_hydrator import UserEmbeddingHydrator
from feedmix.users.user_profile_hydrator import UserProfileHydrator


def product_registry() -> ComponentRegistry:
    r = ComponentRegistry()
    # query hydrators
    r.register("user_profile", lambda i, d, **o: UserProfileHydrator(i, d.corpus, d.graph, d.users, **o))
    r.register("seen_posts", lambda i, d, **o: SeenPostsHydrator(i, d.seen, **o))
    r.register("session_served", lambda i, d, **o: SessionServedHydrator(i, d.sessions, **o))
    r.register("community_context", lambda i, d, **o: CommunityContextHydrator(i, d.corpus, **o))
    r.register(
        "user_embedding",
        lambda i, d, **o: UserEmbeddingHydrator(
            i, d.users, d.corpus, d.content_index, d.collab_index, d.recent_engagements, **o
        ),
    )
    # candidate sources
    r.register("community_posts", lambda i, d, **o: CommunityPostsSource(i, d.corpus, **o))
    r.register("trending", lambda i, d, **o: TrendingSource(i, d.corpus, **o))
    r.register("fresh", lambda i, d, **o: FreshSource(i, d.corpus, **o))
    r.register("related_communities", lambda i, d, **o: RelatedCommunitiesSource(i, d.corpus, d.graph, **o))
    r.register("embedding", lambda i, d, **o: EmbeddingSource(i, d.corpus, **o))
    r.register("exploration", lambda i, d, **o: ExplorationSource(i, d.corpus, d.engagement, **o))
    # candidate hydrators
    r.register("post_features", lambda i, d, **o: PostFeaturesHydrator(i, d.corpus, **o))
    r.register(
        "online_features",
        lambda i, d, **o: OnlineFeaturesHydrator(
            i, _need(d.online_store, "online_store"), community_names=d.corpus.communities, **o
        ),
    )
    # filters
    r.register("seen_filter", lambda i, d, **o: SeenPostsFilter(i, **o))
    r.register("nsfw_filter", lambda i, d, **o: NsfwFilter(i, **o))
    r.register("duplicate_content_filter", lambda i, d, **o: DuplicateContentFilter(i, **o))
    # scorers and selectors
    r.register("heuristic_scorer", lambda i, d, **o: HeuristicScorer(i, **o))
    r.register("ranker", lambda i, d, **o: RankerScorer(i, d.ranker_models, **o))
    r.register("freshness_boost", lambda i, d, **o: FreshnessBoost(i, **o))
    r.register("diversity_penalty", lambda i, d, **o: DiversityPenalty(i, **o))
    r.register("exploration_propensity", lambda i, d, **o: ExplorationPropensityScorer(i, **o))
    r.register("community_diversity", lambda i, d, **o: CommunityDiversitySelector(i, **o))
    r.register("exploration_slots", lambda i, d, **o: ExplorationSlotsSelector(i, **o))
    r.register("ad_slots", lambda i, d, **o: AdSlotsSelector(i, **o))
    # side effects
    r.register("served_mix", lambda i, d, **o: ServedMixSideEffect(i, **o))
    r.register(
        "serving_feature_log",
        lambda i, d, **o: ServingFeatureLogSideEffect(
            i, _need(d.served_feature_log, "served_feature_log"), **o
        ),
    )
    return r


_T = TypeVar("_T")


def _need(dep: _T | None, name: str) -> _T:
    """A dependency a component cannot run without (ValueError, reported as a ConfigError)."""
    if dep is None:
        raise ValueError(f"needs FeedDeps.{name}, which this process did not wire")
    return dep


__all__ = ["FeedDeps", "product_registry"]

"""The home feed: the user's communities, trending, fresh, related communities and embedding
retrieval (content and collaborative ANN indexes), ranked, with ads blended in.

Sources run in parallel; filters go cheapest and most selective first; the diversity selector
keeps one community from taking over a page, the exploration slots give new posts a bounded
number of positions (2 per page by default), and the ads blender places the page's ads.
"""

from __future__ import annotations

from typing import Any

from feedmix.products.shared import POST_FEATURES, SAFETY_AND_SEEN_FILTERS, SERVED_RECORDS, USER_CONTEXT

HOME_FEED: dict[str, Any] = {
    "surface": "home",
    "query_hydrators": [*USER_CONTEXT, {"type": "user_embedding_hydrator", "id": "user_embedding"}],
    "sources": [
        {
            "type": "community_posts_source",
            "id": "joined_communities",
            "options": {"communities_feature": "user.communities"},
        },
        {"type": "trending_source", "id": "trending"},
        {"type": "fresh_source", "id": "fresh"},
        {"type": "related_communities_source", "id": "related_communities"},
        # nearest posts to the user's vectors (``user_embedding``): text content and ALS on the log
        {
            "type": "embedding_source",
            "id": "embedding_content",
            "options": {"vector_feature": "user.embedding.content"},
        },
        {
            "type": "embedding_source",
            "id": "embedding_collab",
            "options": {"vector_feature": "user.embedding.collab"},
        },
        {"type": "exploration_source", "id": "exploration"},
    ],
    "candidate_hydrators": POST_FEATURES,
    "filters": SAFETY_AND_SEEN_FILTERS,
    # the ranker overwrites the heuristic's score when a model is promoted; if it fails, the
    # heuristic's score ranks the request (fail-open). The rescoring rules act on the ranker's
    # value only; the propensity scorer only adds a column.
    "scorers": [
        "heuristic_scorer",
        {"type": "ranker_scorer", "id": "ranker"},
        {"type": "freshness_boost_scorer", "id": "freshness_boost"},
        {"type": "show_fewer_scorer", "id": "show_fewer"},
        {"type": "diversity_penalty_scorer", "id": "community_penalty", "options": {"column": "community"}},
        {"type": "diversity_penalty_scorer", "id": "domain_penalty", "options": {"column": "domain"}},
        {"type": "exploration_propensity_scorer", "id": "exploration_propensity"},
    ],
    "selectors": [
        {"type": "community_diversity_selector", "id": "community_diversity"},
        {"type": "exploration_slots_selector", "id": "exploration_slots"},
    ],
    # its params keep the names ads have always had: ad_slots.first_position, .min_gap, .max_load,
    # and the kill switch ad_slots.enabled
    "blenders": [{"type": "ads_blender", "id": "ad_slots"}],
    "side_effects": [
        *SERVED_RECORDS,
        {
            "type": "serving_feature_log_side_effect",
            "id": "serving_feature_log",
            # the source too: a shadow's replay of logged requests compares the source mix
            "options": {"columns": ["f.*", "score", "score.*", "p.*", "source"]},
        },
    ],
    "params": {},
}

"""The home feed: the user's communities, trending, fresh, related communities and embedding
retrieval (content and collaborative ANN indexes), ranked.

Sources run in parallel; filters go cheapest and most selective first; the diversity selector
keeps one community from taking over a page, and the exploration slots give new posts a bounded
number of positions (2 per page by default).
"""

from __future__ import annotations

from typing import Any

HOME_FEED: dict[str, Any] = {
    "surface": "home",
    "query_hydrators": ["user_profile", "seen_posts", "session_served", "user_embedding"],
    "sources": [
        {
            "type": "community_posts",
            "id": "joined_communities",
            "options": {"communities_feature": "user.communities"},
        },
        "trending",
        "fresh",
        "related_communities",
        # nearest posts to the user's vectors (``user_embedding``): text content and ALS on the log
        {
            "type": "embedding",
            "id": "embedding_content",
            "options": {"vector_feature": "user.embedding.content"},
        },
        {
            "type": "embedding",
            "id": "embedding_collab",
            "options": {"vector_feature": "user.embedding.collab"},
        },
        "exploration",
    ],
    # online_features reads the post, community, user×community and user rows in one round trip;
    # it needs the ``community`` column post_features adds
    "candidate_hydrators": [
        "post_features",
        {
            "type": "online_features",
            "options": {"entities": ["post", "community", "user_community", "user"]},
        },
    ],
    "filters": [
        {"type": "seen_filter", "id": "served_in_session", "options": {"feature": "session.served"}},
        {"type": "seen_filter", "id": "seen_posts_filter", "options": {"feature": "user.seen"}},
        "nsfw_filter",
        "duplicate_content_filter",
    ],
    # the ranker overwrites the heuristic's score when a model is promoted; if it fails, the
    # heuristic's score ranks the request (fail-open). The rescoring rules act on the ranker's
    # value only; the propensity scorer only adds a column.
    "scorers": [
        "heuristic_scorer",
        "ranker",
        "freshness_boost",
        {"type": "diversity_penalty", "id": "community_penalty", "options": {"column": "community"}},
        {"type": "diversity_penalty", "id": "domain_penalty", "options": {"column": "domain"}},
        "exploration_propensity",
    ],
    # ad_slots keeps the order; it carries the ads blender's params and kill switch (ad_slots.enabled)
    "selectors": ["community_diversity", "exploration_slots", "ad_slots"],
    "side_effects": [
        "served_mix",
        {"type": "serving_feature_log", "options": {"columns": ["f.*", "score", "score.*", "p.*"]}},
    ],
    "params": {},
}

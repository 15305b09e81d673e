"""The home feed: the user's communities, trending, fresh and related communities, ranked.

Sources run in parallel; filters go cheapest and most selective first; the diversity selector
keeps one community from taking over a page, and the exploration slots give new posts a bounded
number of positions (2 per page by default).
"""

from __future__ import annotations

from typing import Any

HOME_FEED: dict[str, Any] = {
    "surface": "home",
    "query_hydrators": ["user_profile", "seen_posts", "session_served"],
    "sources": [
        {
            "type": "community_posts",
            "id": "joined_communities",
            "options": {"communities_feature": "user.communities"},
        },
        "trending",
        "fresh",
        "related_communities",
        "exploration",
    ],
    "candidate_hydrators": ["post_features"],
    "filters": [
        {"type": "seen_filter", "id": "served_in_session", "options": {"feature": "session.served"}},
        {"type": "seen_filter", "id": "seen_posts_filter", "options": {"feature": "user.seen"}},
        "nsfw_filter",
        "duplicate_content_filter",
    ],
    "scorers": ["heuristic_scorer"],
    "selectors": ["community_diversity", "exploration_slots"],
    "side_effects": ["served_mix"],
    "params": {},
}

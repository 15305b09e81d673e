"""A community feed (one subreddit), built from the home feed's components.

The only new part is the hydrator that names the community; the sources are the same classes
pointed at ``feed.communities``, and there is no diversity selector (one community by design).
"""

from __future__ import annotations

from typing import Any

COMMUNITY_FEED: dict[str, Any] = {
    "surface": "community",
    "query_hydrators": ["community_context", "user_profile", "seen_posts", "session_served"],
    "sources": [
        {
            "type": "community_posts",
            "id": "community_top",
            "options": {"communities_feature": "feed.communities"},
        },
        {"type": "fresh", "id": "community_fresh", "options": {"communities_feature": "feed.communities"}},
    ],
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
    "scorers": ["heuristic_scorer"],
    "side_effects": ["served_mix"],
    "params": {
        "community_top.per_community": 500,
        "community_top.window_days": 3650.0,
        "community_fresh.limit": 100,
        "heuristic_scorer.w_affinity": 0.0,
    },
}

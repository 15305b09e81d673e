"""A community feed (one subreddit), built from the home feed's components.

The only new part is the hydrator that names the community; the sources are the same classes
pointed at ``feed.communities``, and there is no diversity selector (one community by design).
"""

from __future__ import annotations

from typing import Any

from feedmix.products.shared import POST_FEATURES, SAFETY_AND_SEEN_FILTERS, SERVED_RECORDS, USER_CONTEXT

COMMUNITY_FEED: dict[str, Any] = {
    "surface": "community",
    "query_hydrators": [{"type": "community_context_hydrator", "id": "community_context"}, *USER_CONTEXT],
    "sources": [
        {
            "type": "community_posts_source",
            "id": "community_top",
            "options": {"communities_feature": "feed.communities"},
        },
        {
            "type": "fresh_source",
            "id": "community_fresh",
            "options": {"communities_feature": "feed.communities"},
        },
    ],
    "candidate_hydrators": POST_FEATURES,
    "filters": SAFETY_AND_SEEN_FILTERS,
    "scorers": ["heuristic_scorer"],
    "side_effects": SERVED_RECORDS,
    "params": {
        "community_top.per_community": 500,
        "community_top.window_days": 3650.0,
        "community_fresh.limit": 100,
        "heuristic_scorer.w_affinity": 0.0,
    },
}

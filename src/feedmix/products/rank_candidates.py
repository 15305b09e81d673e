"""Ranking a caller's candidates as a surface ranks its own: the surface's query hydrators, features,
scorers and heads, with the caller's posts as the only source. No page rules (selectors, ads) and no
side effects: the caller composes the page and records what it shows. The filters kept are the ones
the viewer is owed whoever retrieved the posts (NSFW, muted communities); what they remove is reported.
"""

from __future__ import annotations

from typing import Any

from feedmix.products.home_feed import HOME_FEED

#: the filters a viewer is owed whoever retrieved the posts
VIEWER_FILTERS: list[Any] = ["nsfw_filter", {"type": "muted_communities_filter", "id": "muted_communities"}]


def ranking_only(product: dict[str, Any]) -> dict[str, Any]:
    return {
        **product,
        "sources": [{"type": "given_posts_source", "id": "given_posts"}],
        "filters": VIEWER_FILTERS,
        "selectors": [],
        "blenders": [],
        "side_effects": [],
    }


HOME_RANK: dict[str, Any] = ranking_only(HOME_FEED)

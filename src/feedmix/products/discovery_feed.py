"""Apps and games discovery: interactive experiences (games and apps communities and their posts) and the
communities to join, for a user who wants something new to play or use.

Shared parts: the user context, post features and signals, safety filters, the heuristic and the ranker
(with this surface's own value weights: a discovery is worth its upvotes and comments more than a
click, and a hide costs more), the community cap and the served records. Its own: the catalogue (below)
as the discovery context, the catalogue's top and newest posts, posts from catalogue communities like
the user's (the similar-communities source), a novelty rule for communities the user has not joined,
and a cap per catalogue category. The response suggests the similar communities to join.
"""

from __future__ import annotations

from typing import Any

from feedmix.products.shared import POST_FEATURES, SAFETY_AND_SEEN_FILTERS, SERVED_RECORDS, USER_CONTEXT

#: the catalogue: category -> the 2013 communities of games and apps (those absent from a corpus are skipped)
CATALOGUE: dict[str, list[str]] = {
    "console games": ["xbox", "xbox360", "xboxone", "PS3", "PS4", "nintendo", "zelda", "pokemon", "halo"],
    "pc games": [
        "pcgaming",
        "pcmasterrace",
        "Steam",
        "linux_gaming",
        "macgaming",
        "lowendgaming",
        "tf2",
        "starcraft",
        "wow",
        "Guildwars2",
        "Diablo",
        "leagueoflegends",
        "DotA2",
        "skyrim",
        "Fallout",
        "masseffect",
        "Borderlands",
        "darksouls",
        "civ",
        "dayz",
        "battlefield3",
        "Minecraft",
    ],
    "mobile games and apps": ["AndroidGaming", "iosgaming", "androidapps", "Android", "iphone", "jailbreak"],
    "indie and web games": ["IndieGaming", "WebGames", "FlashGames", "GamePhysics", "rpg"],
    "games in general": ["gaming", "Games", "truegaming", "gamingsuggestions", "gamernews"],
    "deals and free games": ["GameDeals", "steamdeals", "freegames", "GiftofGames"],
}

DISCOVERY_FEED: dict[str, Any] = {
    "surface": "discovery",
    "query_hydrators": [
        *USER_CONTEXT,
        {
            "type": "discovery_context_hydrator",
            "id": "discovery_context",
            "options": {"catalogue": CATALOGUE},
        },
    ],
    "sources": [
        {
            "type": "community_posts_source",
            "id": "catalogue_top",
            "options": {"communities_feature": "feed.communities"},
        },
        {
            "type": "fresh_source",
            "id": "catalogue_fresh",
            "options": {"communities_feature": "feed.communities"},
        },
        {
            "type": "community_posts_source",
            "id": "similar_communities",
            "options": {"communities_feature": "discovery.similar"},
        },
    ],
    "candidate_hydrators": POST_FEATURES,
    "filters": SAFETY_AND_SEEN_FILTERS,
    "scorers": [
        "heuristic_scorer",
        {"type": "ranker_scorer", "id": "ranker"},
        {"type": "novelty_boost_scorer", "id": "novelty"},
    ],
    "selectors": [
        {"type": "community_diversity_selector", "id": "community_diversity"},
        {"type": "category_cap_selector", "id": "category_cap"},
    ],
    "side_effects": [
        *SERVED_RECORDS,
        {
            "type": "serving_feature_log_side_effect",
            "id": "serving_feature_log",
            "options": {"columns": ["f.*", "score", "score.*", "p.*", "source"]},
        },
    ],
    "params": {
        # a year of a catalogue community's posts, not a month: the catalogue is small
        "catalogue_top.window_days": 365.0,
        "catalogue_top.per_community": 30,
        "similar_communities.window_days": 365.0,
        "similar_communities.per_community": 20,
        "community_diversity.max_per_community": 3,
        "ranker.w_upvote": 1.5,
        "ranker.w_comment": 1.0,
        "ranker.w_hide": 2.0,
    },
}

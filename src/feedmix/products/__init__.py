"""The products: each surface's pipeline declared as configuration over the component library.

``PIPELINES`` is every product the platform serves; serving builds them all at startup.
"""

from __future__ import annotations

from typing import Any

from feedmix.products.community_feed import COMMUNITY_FEED
from feedmix.products.discovery_feed import DISCOVERY_FEED
from feedmix.products.home_feed import HOME_FEED
from feedmix.products.rank_candidates import HOME_RANK

#: ``home_rank`` ranks a caller's candidates as the home feed would (gRPC ``RankCandidates``)
PIPELINES: dict[str, dict[str, Any]] = {
    "home": HOME_FEED,
    "community": COMMUNITY_FEED,
    "discovery": DISCOVERY_FEED,
    "home_rank": HOME_RANK,
}

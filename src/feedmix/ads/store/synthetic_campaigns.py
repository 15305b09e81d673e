"""Seeded synthetic campaigns and requests over real community names, for benchmarks and tests.

The shapes follow what self-serve ad platforms see: most ad groups target a few communities (a
quarter target none), some add keywords, geos, devices or interests; a minority are CPM; one
advertiser runs a few campaigns and one campaign a few ad groups. Bids are log-normal around
$1 CPC / $5 CPM. Everything is active and in flight at ``now`` unless ``inactive_share`` says
otherwise, so the benchmark's "active ad groups" are what the index actually has to consider.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from feedmix.ads.decision.targeting_index import AdRequest
from feedmix.ads.store.model import MICROS, Ad, AdGroup, Campaign, Device, FrequencyCap, Schedule, Targeting

GEOS = ("US", "CA", "GB", "DE", "FR", "AU", "IN", "BR", "JP", "NL")
DEVICES: tuple[Device, ...] = ("desktop", "mobile", "tablet")
#: interest taxonomy ids (a real taxonomy has a few hundred)
INTERESTS = tuple(f"interest{i}" for i in range(40))
#: page title tokens the synthetic ads target
DEFAULT_KEYWORDS: tuple[str, ...] = (
    "game",
    "games",
    "gaming",
    "pc",
    "console",
    "news",
    "world",
    "politics",
    "music",
    "movie",
    "film",
    "tv",
    "show",
    "science",
    "space",
    "photo",
    "art",
    "food",
    "recipe",
    "travel",
    "car",
    "cars",
    "bike",
    "fitness",
    "health",
    "money",
    "finance",
    "stock",
    "crypto",
    "tech",
    "phone",
    "linux",
    "python",
    "code",
    "book",
    "books",
    "sport",
    "football",
    "soccer",
    "nba",
    "nfl",
    "anime",
    "comic",
    "funny",
    "cat",
    "dog",
)


def synthetic_snapshot(
    n_groups: int,
    communities: Sequence[str],
    *,
    now: float,
    seed: int = 0,
    keywords: Sequence[str] = DEFAULT_KEYWORDS,
    groups_per_campaign: int = 4,
    campaigns_per_advertiser: int = 3,
    inactive_share: float = 0.0,
    daily_budget_usd: float = 500.0,
    contextual_share: float = 0.0,
) -> list[tuple[Campaign, AdGroup, list[Ad]]]:
    """``n_groups`` ad groups (one ad each) with varied targeting; seeded, so runs compare.
    ``contextual_share``: about this share of groups target page intents, as many page categories,
    and half as many products (0, the default, keeps the snapshots every benchmark was measured on)."""
    rng = np.random.default_rng(seed)
    # contextual targeting (content signals) draws from its own stream, so adding it left every other
    # draw, and every figure measured on these snapshots before, as it was
    ctx_rng = np.random.default_rng(seed + 10_000)
    comms = list(communities)
    kws = list(keywords)
    out: list[tuple[Campaign, AdGroup, list[Ad]]] = []
    campaign: Campaign | None = None
    for g in range(n_groups):
        if g % groups_per_campaign == 0:
            c = g // groups_per_campaign
            budget = int(rng.lognormal(np.log(daily_budget_usd), 0.8) * MICROS)
            campaign = Campaign(
                campaign_id=f"c{c}",
                advertiser_id=f"adv{c // campaigns_per_advertiser}",
                name=f"campaign {c}",
                objective="traffic",
                budget_kind="daily",
                budget_micros=max(budget, 10 * MICROS),
                start_ts=now - 30 * 86_400,
                end_ts=now + 30 * 86_400,
                status="paused" if rng.random() < inactive_share else "active",
            )
        assert campaign is not None
        cpm = rng.random() < 0.2
        bid = rng.lognormal(np.log(5.0 if cpm else 1.0), 0.5)
        n_comm = 0 if rng.random() < 0.25 else int(rng.integers(1, 6))
        intents, categories, products = _contextual(ctx_rng, contextual_share)
        targeting = Targeting(
            communities=tuple(rng.choice(comms, size=n_comm, replace=False)) if n_comm else (),
            keywords=tuple(rng.choice(kws, size=int(rng.integers(1, 4)), replace=False))
            if rng.random() < 0.2
            else (),
            geos=tuple(rng.choice(GEOS, size=int(rng.integers(1, 4)), replace=False))
            if rng.random() < 0.3
            else (),
            devices=(DEVICES[int(rng.integers(0, 3))],) if rng.random() < 0.15 else (),
            interests=tuple(rng.choice(INTERESTS, size=2, replace=False)) if rng.random() < 0.1 else (),
            exclude_communities=(str(rng.choice(comms)),) if rng.random() < 0.1 else (),
            exclude_keywords=(str(rng.choice(kws)),) if rng.random() < 0.05 else (),
            intents=intents,
            categories=categories,
            products=products,
        )
        schedule: tuple[int, ...] = ()
        if rng.random() < 0.1:  # business hours, Monday to Friday
            schedule = tuple(d * 24 + h for d in range(5) for h in range(8, 20))
        group = AdGroup(
            ad_group_id=f"g{g}",
            campaign_id=campaign.campaign_id,
            name=f"ad group {g}",
            bid_kind="cpm" if cpm else "cpc",
            bid_micros=max(int(bid * MICROS), 10_000),
            targeting=targeting,
            frequency_cap=FrequencyCap(max_impressions=3, window_s=86_400.0)
            if rng.random() < 0.5
            else FrequencyCap(),
            safety_tier=str(rng.choice(["strict", "standard", "relaxed"], p=[0.2, 0.6, 0.2])),  # type: ignore[arg-type]
            schedule=Schedule(schedule),
        )
        ad = Ad(
            ad_id=f"a{g}",
            ad_group_id=group.ad_group_id,
            headline=f"Ad {g}",
            body="",
            click_url=f"https://example.com/{g}",
        )
        out.append((campaign, group, [ad]))
    return out


#: contextual targeting values the synthetic groups draw from (the codebook's names; common brands)
CONTEXT_INTENTS = ("review", "recommendation_request", "recommendation", "comparison", "question")
CONTEXT_CATEGORIES = ("Electronics", "Computers", "Video Games & Software", "Apparel & Accessories", "Other")
CONTEXT_PRODUCTS = ("sennheiser", "nintendo", "apple", "steam", "nike", "lego", "samsung", "amazon")


def _contextual(
    rng: np.random.Generator, share: float
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(intents, categories, products) of one synthetic ad group."""
    draws = rng.random(3)
    intents = tuple(str(x) for x in rng.choice(CONTEXT_INTENTS, size=2, replace=False))
    products = tuple(str(x) for x in rng.choice(CONTEXT_PRODUCTS, size=2, replace=False))
    return (
        intents if draws[0] < share else (),
        (str(rng.choice(CONTEXT_CATEGORIES)),) if draws[1] < share else (),
        products if draws[2] < share / 2 else (),
    )


def random_request(
    rng: np.random.Generator,
    communities: Sequence[str],
    *,
    now: float,
    user_id: str | None = None,
    keywords: Sequence[str] = DEFAULT_KEYWORDS,
    contextual: bool = False,
) -> AdRequest:
    """A home-feed-like page: 1-3 communities, a few title tokens, a geo, a device, interests; with
    ``contextual``, also the page's intents, categories and products (drawn after everything else)."""
    n_comm = int(rng.integers(1, 4))
    req = AdRequest(
        user_id=user_id if user_id is not None else f"u{int(rng.integers(0, 10_000))}",
        now=now,
        communities=tuple(str(c) for c in rng.choice(list(communities), size=n_comm, replace=False)),
        keywords=tuple(str(k) for k in rng.choice(list(keywords), size=int(rng.integers(0, 6)))),
        geo=str(rng.choice(GEOS)),
        device=str(rng.choice(DEVICES)),
        interests=tuple(str(i) for i in rng.choice(INTERESTS, size=3, replace=False)),
        brand_safety="safe" if rng.random() < 0.5 else "unrated",
    )
    if not contextual:
        return req
    return dataclasses.replace(
        req,
        intents=tuple(
            str(x) for x in rng.choice(CONTEXT_INTENTS, size=int(rng.integers(0, 3)), replace=False)
        ),
        categories=tuple(
            str(x) for x in rng.choice(CONTEXT_CATEGORIES, size=int(rng.integers(0, 3)), replace=False)
        ),
        products=tuple(
            str(x) for x in rng.choice(CONTEXT_PRODUCTS, size=int(rng.integers(0, 3)), replace=False)
        ),
    )

"""The advertiser's objects, as both the store and the ad server see them.

Advertiser → campaign (objective, budget, flight) → ad group (bid, targeting, frequency cap,
brand-safety tier, schedule) → ad (creative). These are plain frozen dataclasses: the store maps
them to rows, the advertiser API validates requests into them, and the ad server builds its
in-memory indexes from snapshots of them. Money is in integer micros (1 USD = 1,000,000 micros) so
budgets and spend add up exactly, in every backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MICROS = 1_000_000

Objective = Literal["traffic", "awareness", "conversions"]
BudgetKind = Literal["daily", "lifetime"]
BidKind = Literal["cpc", "cpm"]
#: brand-safety tiers: "strict" serves only next to posts rated safe, "standard" also next to
#: unrated ones, "relaxed" anywhere except NSFW (NSFW adjacency is never allowed)
SafetyTier = Literal["strict", "standard", "relaxed"]
Device = Literal["desktop", "mobile", "tablet"]
Status = Literal["active", "paused", "archived"]


@dataclass(frozen=True)
class Advertiser:
    advertiser_id: str
    name: str
    status: Status = "active"


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    advertiser_id: str
    name: str
    objective: Objective
    budget_kind: BudgetKind
    budget_micros: int
    start_ts: float
    end_ts: float
    status: Status = "active"


@dataclass(frozen=True)
class Targeting:
    """Who and where an ad group may serve. Empty include-lists mean "no restriction"."""

    communities: tuple[str, ...] = ()
    interests: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    geos: tuple[str, ...] = ()
    devices: tuple[Device, ...] = ()
    exclude_communities: tuple[str, ...] = ()
    exclude_keywords: tuple[str, ...] = ()
    #: never next to NSFW posts is always true; this excludes NSFW *communities* as context too
    exclude_nsfw: bool = True
    #: contextual targeting by the page's content signals (``feedmix.signals``): the surrounding posts'
    #: intents and product categories (the codebook's names) and the products or brands they mention
    #: (lower-cased names, "sennheiser", "galaxy s4")
    intents: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()


@dataclass(frozen=True)
class FrequencyCap:
    """At most ``max_impressions`` per user per ``window_s`` seconds (0 impressions: no cap)."""

    max_impressions: int = 0
    window_s: float = 86_400.0


@dataclass(frozen=True)
class Schedule:
    """Hours of the week the ad group may serve (UTC, 0 = Monday 00:00); empty: always."""

    hours_of_week: tuple[int, ...] = ()


@dataclass(frozen=True)
class AdGroup:
    ad_group_id: str
    campaign_id: str
    name: str
    bid_kind: BidKind
    bid_micros: int
    targeting: Targeting = field(default_factory=Targeting)
    frequency_cap: FrequencyCap = field(default_factory=FrequencyCap)
    safety_tier: SafetyTier = "standard"
    schedule: Schedule = field(default_factory=Schedule)
    status: Status = "active"


@dataclass(frozen=True)
class Ad:
    ad_id: str
    ad_group_id: str
    headline: str
    body: str
    click_url: str
    call_to_action: str = "Learn more"
    #: content hash of the uploaded image asset (served at /v1/assets/<hash>), or "" for none
    image_sha256: str = ""
    status: Status = "active"

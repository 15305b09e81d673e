"""The campaign store's interface: where advertisers, campaigns, ad groups, ads and their daily delivery
live, as the advertiser API, the ad server and the reports see them, with the value types they
exchange. Its one implementation is SQL (:mod:`feedmix.ads.store.sql_campaign_store`, SQLite or
PostgreSQL); :func:`feedmix.ads.store.backends.open_campaign_store` picks it by URL, so nothing that
uses a store imports SQLAlchemy.

Who reads what:

* the advertiser API creates and changes objects, always scoped by ``advertiser_id``: a scoped read
  of another advertiser's object answers "not found", so the API cannot leak it by mistake;
* the ad server polls ``revision()`` (one single-row read) and, when it moved, indexes
  ``active_snapshot(now)`` - every serving ad group with its campaign and ads, read in one
  consistent read;
* the ad server calls ``record_delivery`` (or ``record_deliveries`` for a batch) to add impressions,
  clicks and spend to the per-day aggregates, atomically, so concurrent writers from many threads or
  replicas never lose an increment;
* ``report`` reads those aggregates back per campaign and day, with CTR, CPC and eCPM.

Every write of an advertiser's objects bumps the store-wide revision in the same transaction, so a
reader that saw revision *r* and later sees *r' > r* knows something changed, and one that sees *r*
again knows nothing did. Delivery stats do not bump it: they change every second and the ad server
does not index them.

API keys: ``create_advertiser`` returns the plaintext key once; only its SHA-256 is stored. The keys
are 256 random bits, so a fast hash is enough (a slow password hash protects low-entropy secrets).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from feedmix.ads.store.model import (
    Ad,
    AdGroup,
    Advertiser,
    Campaign,
    Status,
)

API_KEY_PREFIX = "fmxads_"


class NotFound(KeyError):
    """The object does not exist, or (for a scoped call) belongs to another advertiser."""


# ---------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class ActiveAdGroup:
    """One ad group that may serve now, with what the ad server needs to index and price it."""

    campaign: Campaign
    ad_group: AdGroup
    ads: tuple[Ad, ...]


@dataclass(frozen=True)
class AdsSnapshot:
    """Everything that may serve at ``now``, as of store revision ``revision``.

    Active means: advertiser, campaign, ad group and ad all ``active``, and ``start_ts <= now <
    end_ts``. Schedules (hours of the week) and budgets are left to the ad server: they change by the
    minute, the snapshot by the edit.
    """

    revision: int
    now: float
    groups: tuple[ActiveAdGroup, ...]


@dataclass(frozen=True)
class Delivery:
    """Delivery to add to one ad group's aggregates for one UTC day."""

    campaign_id: str
    ad_group_id: str
    day: dt.date
    impressions: int = 0
    clicks: int = 0
    spend_micros: int = 0


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _round_div(num: int, den: int) -> int | None:
    """``num / den`` rounded half up, in integers (exact for any size), or None when undefined."""
    if den == 0:
        return None
    return (2 * num + den) // (2 * den)


@dataclass(frozen=True)
class ReportRow:
    """One campaign's delivery on one day (or over a range, for totals: ``day`` is then None).

    Rates are None where they are undefined (no impressions, no clicks) rather than 0, which would
    read as "free" or "never clicked".
    """

    campaign_id: str
    day: dt.date | None
    impressions: int
    clicks: int
    spend_micros: int

    @property
    def ctr(self) -> float | None:
        """Clicks per impression."""
        return _ratio(self.clicks, self.impressions)

    @property
    def cpc_micros(self) -> int | None:
        """Spend per click, micros (rounded half up)."""
        return _round_div(self.spend_micros, self.clicks)

    @property
    def ecpm_micros(self) -> int | None:
        """Spend per thousand impressions, micros (rounded half up)."""
        return _round_div(self.spend_micros * 1000, self.impressions)


# ---------------------------------------------------------------------------------------------------
# the interface


@runtime_checkable
class CampaignStore(Protocol):
    """Advertisers and their campaigns, ad groups, ads; revision, snapshot; daily delivery stats.

    Reads and updates that take ``advertiser_id`` are scoped: an object of another advertiser is
    ``None`` (reads) or ``NotFound`` (writes). ``advertiser_id=None`` means unscoped (admin, ad server).
    Create methods assign the id when the given one is ``""``.
    """

    def create_advertiser(self, name: str, status: Status = "active") -> tuple[Advertiser, str]: ...
    def get_advertiser(self, advertiser_id: str) -> Advertiser | None: ...
    def list_advertisers(self) -> list[Advertiser]: ...
    def update_advertiser(self, advertiser: Advertiser) -> Advertiser: ...
    def advertiser_for_key(self, api_key: str) -> Advertiser | None: ...
    def rotate_api_key(self, advertiser_id: str) -> str: ...

    def create_campaign(self, campaign: Campaign) -> Campaign: ...
    def get_campaign(self, campaign_id: str, advertiser_id: str | None = None) -> Campaign | None: ...
    def list_campaigns(self, advertiser_id: str) -> list[Campaign]: ...
    def update_campaign(self, campaign: Campaign) -> Campaign: ...

    def create_ad_group(self, ad_group: AdGroup, advertiser_id: str | None = None) -> AdGroup: ...
    def get_ad_group(self, ad_group_id: str, advertiser_id: str | None = None) -> AdGroup | None: ...
    def list_ad_groups(self, advertiser_id: str, campaign_id: str | None = None) -> list[AdGroup]: ...
    def update_ad_group(self, ad_group: AdGroup, advertiser_id: str | None = None) -> AdGroup: ...

    def create_ad(self, ad: Ad, advertiser_id: str | None = None) -> Ad: ...
    def get_ad(self, ad_id: str, advertiser_id: str | None = None) -> Ad | None: ...
    def list_ads(self, advertiser_id: str, ad_group_id: str | None = None) -> list[Ad]: ...
    def update_ad(self, ad: Ad, advertiser_id: str | None = None) -> Ad: ...

    def revision(self) -> int: ...
    def active_snapshot(self, now: float | None = None) -> AdsSnapshot: ...

    def record_delivery(
        self,
        campaign_id: str,
        ad_group_id: str,
        day: dt.date,
        impressions: int = 0,
        clicks: int = 0,
        spend_micros: int = 0,
    ) -> None: ...
    def record_deliveries(self, deliveries: Iterable[Delivery]) -> None: ...
    def report(
        self, advertiser_id: str, start_day: dt.date, end_day: dt.date, campaign_id: str | None = None
    ) -> list[ReportRow]: ...
    def spend_micros(self, campaign_id: str, start_day: dt.date, end_day: dt.date) -> int: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------------------------------------------
# pure helpers every implementation shares


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_id(kind: str) -> str:
    """Random, prefixed ids: they say what they name and leak no counts."""
    return f"{kind}_{secrets.token_hex(8)}"


def totals(rows: Sequence[ReportRow]) -> list[ReportRow]:
    """Per-campaign totals of report rows (``day`` None), in campaign order."""
    acc: dict[str, list[int]] = {}
    for r in rows:
        a = acc.setdefault(r.campaign_id, [0, 0, 0])
        a[0] += r.impressions
        a[1] += r.clicks
        a[2] += r.spend_micros
    return [ReportRow(c, None, i, k, s) for c, (i, k, s) in sorted(acc.items())]


def check_delivery(d: Delivery) -> None:
    for name in ("impressions", "clicks", "spend_micros"):
        value = getattr(d, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if not isinstance(d.day, dt.date) or isinstance(d.day, dt.datetime):
        raise ValueError(f"day must be a datetime.date, got {d.day!r}")
    if not d.campaign_id or not d.ad_group_id:
        raise ValueError("campaign_id and ad_group_id are required")

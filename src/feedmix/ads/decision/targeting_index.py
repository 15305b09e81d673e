"""Which ad groups may serve on a page: an in-memory, columnar targeting index.

Built from a snapshot of ``(Campaign, AdGroup, [Ad])`` tuples, the index holds one row per ad group
and answers :meth:`TargetingIndex.eligible` with a handful of numpy operations instead of a loop over
ad groups (see DESIGN.md, "Columnar candidates"): at 100k active ad groups a Python loop with a few
attribute checks per group costs tens of milliseconds, the masks below cost well under one.

Layout
------
* **Columns per ad group** (row ``r``): bid, bid kind, campaign and advertiser row, safety tier,
  flight start/end (the campaign's), frequency cap, the hours of the week it may serve packed into 21
  bytes, and whether the ad group can serve at all (it, its campaign and at least one ad are active).
* **Inverted indexes** per targeting dimension (community, keyword, geo, device, interest, and the two
  exclusion lists): value → sorted ``int32`` array of the rows that list it, plus, for include-lists,
  a precomputed boolean mask of the rows that do *not* restrict that dimension ("no restriction" set).

A request's include rule for a dimension is then ``unrestricted | scatter(rows of each request
value)``: one copy of a boolean array and a few scatters. Exclusions are a scatter into a zero mask.

Rules run in a fixed order and each one counts the ad groups it removes *among those still left*
(so the counts add up to ``total - eligible`` and say which rule did the cutting).
:meth:`TargetingIndex.explain` evaluates every rule independently for one ad group, so it lists all
reasons an ad group did not serve, not only the first.

Semantics
---------
* Include-lists (communities, keywords, geos, devices, interests, and the contextual ones: intents,
  categories, products): empty means no restriction; otherwise at least one request value must be
  listed. Matching is case-insensitive. The contextual values of a page are its posts' content
  signals (``feedmix.signals``): a post not labelled yet contributes none, so an ad group that targets
  an intent does not serve on a page of unlabelled posts.
* Exclusions: any request community / page keyword in the exclusion list removes the ad group.
* NSFW: no ad is ever served next to NSFW posts (``request.nsfw_posts``); ad groups with
  ``exclude_nsfw`` also skip pages whose community is NSFW (``request.nsfw_community``).
* Brand safety of the surrounding posts (``request.brand_safety``): "safe" allows every tier,
  "unrated" allows "standard" and "relaxed", "unsafe" only "relaxed".
* Schedule: hour of week of ``request.now`` in UTC (0 = Monday 00:00); empty schedule: always.
* Flight: ``campaign.start_ts <= now < campaign.end_ts``.

Rebuild is a full rebuild (no incremental patching): at 100k ad groups it takes a second or so,
which is cheap enough to run on every campaign change batch; readers hold a reference to the old
index until the new one is swapped in, so a rebuild never blocks serving.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from feedmix.ads.store.model import Ad, AdGroup, Campaign

BrandSafety = Literal["safe", "unrated", "unsafe"]
Snapshot = Sequence[tuple[Campaign, AdGroup, Sequence[Ad]]]

#: rule order of :meth:`TargetingIndex.eligible` (and the keys of its ``removed_by_rule``)
RULES: tuple[str, ...] = (
    "status",
    "flight",
    "schedule",
    "nsfw",
    "brand_safety",
    "community",
    "community_exclusion",
    "keyword",
    "keyword_exclusion",
    "geo",
    "device",
    "interest",
    "intent",
    "category",
    "product",
)

TIER_CODES = {"strict": 0, "standard": 1, "relaxed": 2}
#: lowest tier code allowed next to posts of each brand-safety rating
_MIN_TIER = {"safe": 0, "unrated": 1, "unsafe": 2}
BID_CPC, BID_CPM = 0, 1
HOURS_PER_WEEK = 168
# 1970-01-01 was a Thursday: hour-of-week 0 (Monday 00:00) is 3 days before the epoch
_EPOCH_HOUR_OF_WEEK = 3 * 24

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def hour_of_week(ts: float) -> int:
    """UTC hour of the week, 0 = Monday 00:00-01:00."""
    return int((int(ts // 3600) + _EPOCH_HOUR_OF_WEEK) % HOURS_PER_WEEK)


@dataclass(frozen=True)
class AdRequest:
    """The page an ad slot is on and who looks at it.

    ``communities`` are those of the page (one for a community feed, the surrounding posts'
    communities for the home feed); ``keywords`` are tokens of the surrounding post titles.
    """

    user_id: str
    now: float
    communities: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    geo: str = ""
    device: str = ""
    interests: tuple[str, ...] = ()
    #: any surrounding post is NSFW: no ad serves at all
    nsfw_posts: bool = False
    #: the page's community is NSFW: ad groups with ``exclude_nsfw`` do not serve
    nsfw_community: bool = False
    brand_safety: BrandSafety = "unrated"
    #: the surrounding posts' content signals: intents, product categories, product/brand names
    intents: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()


@dataclass
class _Dimension:
    """Inverted index of one targeting list: value → sorted rows, plus the unrestricted rows."""

    postings: dict[str, npt.NDArray[np.int32]]
    unrestricted: BoolArray | None  # None for exclusion lists

    def rows_matching(self, values: Iterable[str]) -> list[npt.NDArray[np.int32]]:
        out = []
        for v in values:
            rows = self.postings.get(v.lower())
            if rows is not None:
                out.append(rows)
        return out

    def include_mask(self, values: Iterable[str]) -> BoolArray:
        assert self.unrestricted is not None
        mask = self.unrestricted.copy()
        for rows in self.rows_matching(values):
            mask[rows] = True
        return mask

    def any_listed(self, values: Iterable[str], n: int) -> BoolArray:
        mask = np.zeros(n, dtype=np.bool_)
        for rows in self.rows_matching(values):
            mask[rows] = True
        return mask

    def nbytes(self) -> int:
        total = sum(a.nbytes for a in self.postings.values())
        return total + (self.unrestricted.nbytes if self.unrestricted is not None else 0)


def _build_dimension(lists: Sequence[Sequence[str]], *, include: bool) -> _Dimension:
    buckets: dict[str, list[int]] = {}
    for row, values in enumerate(lists):
        for v in {v.lower() for v in values}:
            buckets.setdefault(v, []).append(row)
    postings = {v: np.asarray(rows, dtype=np.int32) for v, rows in buckets.items()}
    unrestricted = None
    if include:
        unrestricted = np.fromiter((len(v) == 0 for v in lists), dtype=np.bool_, count=len(lists))
    return _Dimension(postings, unrestricted)


@dataclass
class TargetingIndex:
    """Columnar ad groups plus inverted targeting indexes; see the module docstring."""

    ad_group_ids: list[str]
    row_of: dict[str, int]
    campaigns: list[Campaign]
    campaign_ids: list[str]
    campaign_row_of: dict[str, int]
    advertiser_ids: list[str]
    ad_groups: list[AdGroup]
    #: active ads of each row (at least one where ``servable``)
    ads: list[tuple[Ad, ...]]
    bid_micros: IntArray
    bid_kind: npt.NDArray[np.int8]
    campaign_row: npt.NDArray[np.int32]
    advertiser_row: npt.NDArray[np.int32]
    safety_tier: npt.NDArray[np.int8]
    start_ts: npt.NDArray[np.float64]
    end_ts: npt.NDArray[np.float64]
    freq_max: npt.NDArray[np.int32]
    freq_window_s: npt.NDArray[np.float64]
    exclude_nsfw: BoolArray
    servable: BoolArray
    #: rows whose schedule is empty (always on)
    always_on: BoolArray
    #: ``[n, 21]`` packed hours of week (bit order of ``np.packbits``)
    schedule_bits: npt.NDArray[np.uint8]
    dims: dict[str, _Dimension]
    build_seconds: float = 0.0
    version: int = 0
    _hour_masks: dict[int, BoolArray] = field(default_factory=dict, repr=False)

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def build(cls, snapshot: Snapshot, version: int = 0) -> TargetingIndex:
        t0 = time.perf_counter()
        n = len(snapshot)
        campaign_row_of: dict[str, int] = {}
        campaigns: list[Campaign] = []
        advertiser_row_of: dict[str, int] = {}
        advertiser_ids: list[str] = []
        ad_group_ids: list[str] = []
        ad_groups: list[AdGroup] = []
        ads: list[tuple[Ad, ...]] = []
        campaign_row = np.empty(n, dtype=np.int32)
        advertiser_row = np.empty(n, dtype=np.int32)
        schedule = np.zeros((n, HOURS_PER_WEEK), dtype=np.bool_)
        servable = np.empty(n, dtype=np.bool_)
        for r, (campaign, group, group_ads) in enumerate(snapshot):
            if group.campaign_id != campaign.campaign_id:
                raise ValueError(f"ad group {group.ad_group_id} is not in campaign {campaign.campaign_id}")
            c = campaign_row_of.get(campaign.campaign_id)
            if c is None:
                c = campaign_row_of[campaign.campaign_id] = len(campaigns)
                campaigns.append(campaign)
            a = advertiser_row_of.get(campaign.advertiser_id)
            if a is None:
                a = advertiser_row_of[campaign.advertiser_id] = len(advertiser_ids)
                advertiser_ids.append(campaign.advertiser_id)
            campaign_row[r] = c
            advertiser_row[r] = a
            ad_group_ids.append(group.ad_group_id)
            ad_groups.append(group)
            active_ads = tuple(ad for ad in group_ads if ad.status == "active")
            ads.append(active_ads)
            servable[r] = campaign.status == "active" and group.status == "active" and bool(active_ads)
            hours = group.schedule.hours_of_week
            if hours:
                schedule[r, [h for h in hours if 0 <= h < HOURS_PER_WEEK]] = True
        row_of = {g: r for r, g in enumerate(ad_group_ids)}
        if len(row_of) != n:
            raise ValueError("duplicate ad_group_id in snapshot")
        tg = [g.targeting for g in ad_groups]
        dims = {
            "community": _build_dimension([t.communities for t in tg], include=True),
            "community_exclusion": _build_dimension([t.exclude_communities for t in tg], include=False),
            "keyword": _build_dimension([t.keywords for t in tg], include=True),
            "keyword_exclusion": _build_dimension([t.exclude_keywords for t in tg], include=False),
            "geo": _build_dimension([t.geos for t in tg], include=True),
            "device": _build_dimension([t.devices for t in tg], include=True),
            "interest": _build_dimension([t.interests for t in tg], include=True),
            "intent": _build_dimension([t.intents for t in tg], include=True),
            "category": _build_dimension([t.categories for t in tg], include=True),
            "product": _build_dimension([t.products for t in tg], include=True),
        }
        index = cls(
            ad_group_ids=ad_group_ids,
            row_of=row_of,
            campaigns=campaigns,
            campaign_ids=[c.campaign_id for c in campaigns],
            campaign_row_of=campaign_row_of,
            advertiser_ids=advertiser_ids,
            ad_groups=ad_groups,
            ads=ads,
            bid_micros=np.fromiter((g.bid_micros for g in ad_groups), dtype=np.int64, count=n),
            bid_kind=np.fromiter(
                (BID_CPM if g.bid_kind == "cpm" else BID_CPC for g in ad_groups), dtype=np.int8, count=n
            ),
            campaign_row=campaign_row,
            advertiser_row=advertiser_row,
            safety_tier=np.fromiter((TIER_CODES[g.safety_tier] for g in ad_groups), dtype=np.int8, count=n),
            start_ts=np.array([campaigns[c].start_ts for c in campaign_row], dtype=np.float64),
            end_ts=np.array([campaigns[c].end_ts for c in campaign_row], dtype=np.float64),
            freq_max=np.fromiter((g.frequency_cap.max_impressions for g in ad_groups), np.int32, count=n),
            freq_window_s=np.fromiter((g.frequency_cap.window_s for g in ad_groups), np.float64, count=n),
            exclude_nsfw=np.fromiter((t.exclude_nsfw for t in tg), dtype=np.bool_, count=n),
            servable=servable,
            always_on=np.asarray(~schedule.any(axis=1), dtype=np.bool_),
            schedule_bits=np.packbits(schedule, axis=1),
            dims=dims,
            version=version,
        )
        index.build_seconds = time.perf_counter() - t0
        return index

    # -- sizes ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.ad_group_ids)

    @property
    def n_campaigns(self) -> int:
        return len(self.campaigns)

    def nbytes(self) -> int:
        """Bytes held by the numpy columns and postings (not the Python objects of the snapshot)."""
        arrays = (
            self.bid_micros,
            self.bid_kind,
            self.campaign_row,
            self.advertiser_row,
            self.safety_tier,
            self.start_ts,
            self.end_ts,
            self.freq_max,
            self.freq_window_s,
            self.exclude_nsfw,
            self.servable,
            self.always_on,
            self.schedule_bits,
        )
        return sum(a.nbytes for a in arrays) + sum(d.nbytes() for d in self.dims.values())

    # -- per-request masks ---------------------------------------------------------------------

    def _schedule_mask(self, now: float) -> BoolArray:
        h = hour_of_week(now)
        mask = self._hour_masks.get(h)
        if mask is None:
            bit = (self.schedule_bits[:, h >> 3] >> (7 - (h & 7))) & 1
            mask = self.always_on | bit.astype(np.bool_)
            self._hour_masks[h] = mask  # 168 masks at most; a benign race under threads
        return mask

    def _rule_mask(self, rule: str, req: AdRequest) -> BoolArray | None:
        """Rows passing ``rule`` for ``req``; None means every row passes (nothing to compute)."""
        n = len(self)
        if rule == "status":
            return self.servable
        if rule == "flight":
            return (self.start_ts <= req.now) & (req.now < self.end_ts)
        if rule == "schedule":
            return self._schedule_mask(req.now)
        if rule == "nsfw":
            if req.nsfw_posts:
                return np.zeros(n, dtype=np.bool_)
            return ~self.exclude_nsfw if req.nsfw_community else None
        if rule == "brand_safety":
            min_tier = _MIN_TIER[req.brand_safety]
            return None if min_tier == 0 else self.safety_tier >= min_tier
        if rule == "community":
            return self.dims["community"].include_mask(req.communities)
        if rule == "community_exclusion":
            return ~self.dims["community_exclusion"].any_listed(req.communities, n)
        if rule == "keyword":
            return self.dims["keyword"].include_mask(req.keywords)
        if rule == "keyword_exclusion":
            return ~self.dims["keyword_exclusion"].any_listed(req.keywords, n)
        if rule == "geo":
            return self.dims["geo"].include_mask((req.geo,) if req.geo else ())
        if rule == "device":
            return self.dims["device"].include_mask((req.device,) if req.device else ())
        if rule == "interest":
            return self.dims["interest"].include_mask(req.interests)
        if rule == "intent":
            return self.dims["intent"].include_mask(req.intents)
        if rule == "category":
            return self.dims["category"].include_mask(req.categories)
        if rule == "product":
            return self.dims["product"].include_mask(req.products)
        raise KeyError(rule)

    def eligible(self, req: AdRequest) -> tuple[npt.NDArray[np.int64], dict[str, int]]:
        """Rows of the ad groups that may serve on ``req``'s page, and how many each rule removed."""
        alive = self.servable.copy()
        removed: dict[str, int] = {"status": int(len(self) - np.count_nonzero(alive))}
        left = len(self) - removed["status"]
        for rule in RULES[1:]:
            if left == 0:
                removed[rule] = 0
                continue
            mask = self._rule_mask(rule, req)
            if mask is None:
                removed[rule] = 0
                continue
            alive &= mask
            now_left = int(np.count_nonzero(alive))
            removed[rule] = left - now_left
            left = now_left
        return np.flatnonzero(alive), removed

    def explain(self, req: AdRequest, ad_group_id: str) -> list[str]:
        """Every targeting reason ``ad_group_id`` may not serve on ``req``'s page ([] if eligible)."""
        row = self.row_of.get(ad_group_id)
        if row is None:
            return [f"unknown ad group {ad_group_id!r} (not in index version {self.version})"]
        group = self.ad_groups[row]
        campaign = self.campaigns[int(self.campaign_row[row])]
        t = group.targeting
        reasons: list[str] = []
        for rule in RULES:
            mask = self._rule_mask(rule, req)
            if mask is None or mask[row]:
                continue
            if rule == "status":
                if campaign.status != "active":
                    reasons.append(f"status: campaign {campaign.campaign_id} is {campaign.status}")
                if group.status != "active":
                    reasons.append(f"status: ad group is {group.status}")
                if not self.ads[row]:
                    reasons.append("status: ad group has no active ad")
            elif rule == "flight":
                reasons.append(
                    f"flight: now={req.now:.0f} outside campaign flight "
                    f"[{campaign.start_ts:.0f}, {campaign.end_ts:.0f})"
                )
            elif rule == "schedule":
                reasons.append(f"schedule: hour of week {hour_of_week(req.now)} not in the ad group schedule")
            elif rule == "nsfw":
                reasons.append(
                    "nsfw: surrounding posts are NSFW (never served next to NSFW)"
                    if req.nsfw_posts
                    else "nsfw: the page's community is NSFW and the ad group excludes NSFW"
                )
            elif rule == "brand_safety":
                reasons.append(
                    f"brand_safety: tier {group.safety_tier!r} not allowed next to {req.brand_safety} posts"
                )
            elif rule == "community":
                reasons.append(
                    f"community: page communities {list(req.communities)} not in {list(t.communities)}"
                )
            elif rule == "community_exclusion":
                hit = sorted(
                    {c.lower() for c in req.communities} & {c.lower() for c in t.exclude_communities}
                )
                reasons.append(f"community_exclusion: excludes {hit}")
            elif rule == "keyword":
                reasons.append(f"keyword: no page keyword among {list(t.keywords)}")
            elif rule == "keyword_exclusion":
                hit = sorted({k.lower() for k in req.keywords} & {k.lower() for k in t.exclude_keywords})
                reasons.append(f"keyword_exclusion: excludes {hit}")
            elif rule == "geo":
                reasons.append(f"geo: {req.geo!r} not in {list(t.geos)}")
            elif rule == "device":
                reasons.append(f"device: {req.device!r} not in {list(t.devices)}")
            elif rule == "interest":
                reasons.append(f"interest: user interests {list(req.interests)} not in {list(t.interests)}")
            elif rule == "intent":
                reasons.append(f"intent: page intents {list(req.intents)} not in {list(t.intents)}")
            elif rule == "category":
                reasons.append(
                    f"category: page categories {list(req.categories)} not in {list(t.categories)}"
                )
            elif rule == "product":
                reasons.append(f"product: page products {list(req.products)[:10]} not in {list(t.products)}")
        return reasons

    # -- features for pCTR ---------------------------------------------------------------------

    def match_features(
        self, req: AdRequest, rows: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per row: 1.0 if the ad group explicitly targets a page community, and its keyword overlap.

        Explicit targeting (not "no restriction") is the relevance signal the pCTR model uses.
        """
        n = len(self)
        community = self.dims["community"].any_listed(req.communities, n)[rows].astype(np.float64)
        overlap = np.zeros(n, dtype=np.float64)
        for posting in self.dims["keyword"].rows_matching(set(k.lower() for k in req.keywords)):
            overlap[posting] += 1.0
        return community, overlap[rows]

"""The ads step of the feed's mixer: the page's ads decided, placed and merged into the page's batch.

It gets the organic page (best first, at most ``limit``), asks the ad server for as many ads as the
placement rules allow (``first_position``, ``min_gap``, ``max_load``: params, so experiments move
them, and ``<id>.enabled`` is the kill switch for ads on a surface; ``reserve_scale`` moves the
auction's reserve prices). While a budget-split experiment runs on the surface, the page spends from
its arm's share of every campaign's budget (or the rest's), so the arms never compete for one budget.
While a campaign-unit experiment runs on the surface, its arms' campaigns bid with their variant's
multiplier, and the campaigns that competed for the page are its exposures (``CAMPAIGN_ASSIGNMENTS``,
logged by the exposure side effect).
It returns one batch: the posts in their order with ad rows between them. Every row has a ``kind``
(``post`` or ``ad``); ad rows carry the creative, the tracking token and what put them there
(campaign, ad group, pCTR, eCPM, price, slot rule) as ``ad.*`` columns, and ``row = -1`` (no corpus
row). The summary for the response (slots, served, degraded) goes to ``query.annotations["ads"]``.

A degraded decision (spend counters or frequency store down) serves the page without ads and is a
``Fallback``: the feed is then marked degraded with this component named, like any other failure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.ads.decision.ad_decision import BudgetSplit, CampaignKnobs
from feedmix.ads.decision.ad_placement import BlendParams
from feedmix.ads.decision.feed_ads import FeedAds, PageAds
from feedmix.ads.decision.targeting_index import TargetingIndex
from feedmix.components.query_hydrators.experiment_assignment_hydrator import ASSIGNMENTS
from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Blender, Fallback
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.experiments.assigner_handle import AssignerHandle
from feedmix.experiments.assignment import Assigner, Assignment
from feedmix.retrieval.rows import ROW

log = logging.getLogger(__name__)

KIND = "kind"
#: the annotation holding the campaigns' assignments exposed on this page (campaign-unit experiments)
CAMPAIGN_ASSIGNMENTS = "experiments.campaign_assignments"
#: the ad columns of a blended page, read by the response rows
AD_COLUMNS = (
    "ad.id",
    "ad.headline",
    "ad.body",
    "ad.call_to_action",
    "ad.click_url",
    "ad.image_url",
    "ad.campaign_id",
    "ad.ad_group_id",
    "ad.token",
    "ad.pctr",
    "ad.ecpm",
    "ad.price_micros",
    "ad.slot",
    "ad.slot_rule",
)
#: what the page's context may give ad targeting beyond the page itself
AD_CONTEXT = ("geo", "device")


class AdsBlender(Blender):
    inline = True
    owner = "ads"
    PARAMS = (
        ParamSpec("first_position", int, 2, "earliest 0-based page position of an ad", min=0, max=1000),
        ParamSpec("min_gap", int, 5, "organic posts at least between two ads", min=1, max=1000),
        ParamSpec("max_load", float, 0.15, "largest share of a page's items that are ads", min=0.0, max=0.5),
        ParamSpec(
            "reserve_scale",
            float,
            1.0,
            "multiplies every slot's reserve price (an auction knob)",
            min=0.1,
            max=10.0,
        ),
    )
    READS = (ROW,)
    WRITES = (KIND, *AD_COLUMNS)
    READS_QUERY = (ASSIGNMENTS,)

    def __init__(
        self,
        identifier: str,
        ads: FeedAds | None = None,
        experiments: AssignerHandle | None = None,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(identifier)
        #: None where the process serves no ads (``[ads] enabled = false``): the page passes through
        self.ads, self.clock = ads, clock
        #: the running experiments: a budget-split one decides which share of every budget a page spends
        self.experiments = experiments
        #: campaign-unit arms by surface, for one assigner and index: rebuilt when either changes
        self._arms: dict[str, _CampaignArms] = {}

    def campaign_knobs(self, query: Query) -> _KnobsCall | None:
        """The campaign-unit experiments' knobs for the index the decision reads; None when none runs."""
        if self.experiments is None:
            return None
        try:
            assigner = self.experiments.current()
        except Exception:  # the assignment failed too (and said so): every campaign bids as listed
            log.warning("ads: no campaign knobs for this request: the experiments are unavailable")
            return None
        if not assigner.has_campaign_experiments:
            return None
        return _KnobsCall(self._arms, assigner, query.surface)

    def budget_split(self, query: Query) -> BudgetSplit | None:
        """The share of every campaign's budget this request spends from while a budget-split experiment
        runs on its surface (its arm's, or the rest's); None otherwise."""
        if self.experiments is None:
            return None
        try:
            plan = self.experiments.current().budget_splits.get(query.surface)
        except Exception:  # the assignment failed too (and said so): the campaign's whole cap still binds
            log.warning(
                "ads: no budget split for this request: the experiments are unavailable", exc_info=True
            )
            return None
        if plan is None:
            return None
        key, share = plan.for_assignments(query.feature(ASSIGNMENTS) or ())
        return BudgetSplit(key, share)

    def blend_params(self, query: Query) -> BlendParams:
        return BlendParams(
            first_position=int(self.param(query, "first_position")),
            min_gap=int(self.param(query, "min_gap")),
            max_load=float(self.param(query, "max_load")),
        )

    def blend(self, query: Query, batch: CandidateBatch) -> CandidateBatch:
        if self.ads is None:
            return batch
        page = self.ads.mix(
            batch.column(ROW),
            user_id=query.user_id,
            request_id=query.request_id,
            now=self.clock(),
            params=self.blend_params(query),
            context={k: str(query.context[k]) for k in AD_CONTEXT if query.context.get(k)},
            debug=query.debug,
            split=self.budget_split(query),
            reserve_scale=float(self.param(query, "reserve_scale")),
            knobs=(knobs := self.campaign_knobs(query)),
        )
        query.annotations["ads"] = page.info
        if knobs is not None and knobs.used is not None and page.exposed_campaign_rows.size:
            fresh = knobs.used.fresh_exposures(page.exposed_campaign_rows, self.clock())
            if fresh:
                query.annotations[CAMPAIGN_ASSIGNMENTS] = fresh
        mixed = merge(batch, page)
        if page.info.get("degraded"):
            raise Fallback(mixed, f"ads degraded: {page.info.get('error', '')}")
        return mixed


class _CampaignArms:
    """One index's campaigns in the campaign-unit experiments of one surface, as columns by campaign
    row, and which of them this process has already reported as exposed today: a campaign competes
    in most auctions, so each request hands on only the campaigns not yet reported (usually none),
    and the exposure log's own daily de-duplication is not asked a few hundred times a page. A
    campaign whose exposure write failed is reported again the next day or with the next index."""

    def __init__(self, assigner: Assigner, index: TargetingIndex, surface: str) -> None:
        self.assigner, self.index = assigner, index
        arms = assigner.campaign_arms(index.campaign_ids, surface)
        in_exp = np.array([c in arms.assigned for c in index.campaign_ids], dtype=bool)
        self.arms = arms
        self.knobs = CampaignKnobs(arms.bid_multiplier, in_exp) if arms.assigned else None
        self._reported = np.zeros(len(index.campaign_ids), dtype=bool)
        self._day = -1

    def fresh_exposures(self, rows: npt.NDArray[np.int64], now: float) -> list[Assignment]:
        day = int(now // 86_400)
        if day != self._day:
            self._reported = np.zeros_like(self._reported)
            self._day = day
        new = rows[~self._reported[rows]]
        if not new.size:
            return []
        self._reported[new] = True  # two threads may both report one: the exposure log de-duplicates
        ids = self.index.campaign_ids
        return [a for r in new.tolist() for a in self.arms.assigned.get(ids[r], ())]


class _KnobsCall:
    """The knobs for the index a decision reads (the ad server passes it), remembering which arms it
    used so the page's exposures are mapped with the same ones."""

    def __init__(self, cache: dict[str, _CampaignArms], assigner: Assigner, surface: str) -> None:
        self._cache, self._assigner, self._surface = cache, assigner, surface
        self.used: _CampaignArms | None = None

    def __call__(self, index: TargetingIndex) -> CampaignKnobs | None:
        try:
            arms = self._cache.get(self._surface)
            if arms is None or arms.assigner is not self._assigner or arms.index is not index:
                arms = _CampaignArms(self._assigner, index, self._surface)
                self._cache[self._surface] = arms  # one reference swap: other threads see old or new
        except Exception:  # a knob bug must not cost the page its ads: bids as listed
            log.warning("ads: campaign knobs failed; bids as listed", exc_info=True)
            return None
        self.used = arms
        return arms.knobs


def merge(batch: CandidateBatch, page: PageAds) -> CandidateBatch:
    """The posts of ``batch`` and the ads of ``page`` as one batch, in the page's order."""
    n, m = len(batch), len(page.ads)
    posts = batch.with_columns({KIND: np.full(n, "post", dtype="<U4")})
    if not m:
        return posts
    ws = [a.winner for a in page.ads]
    cols: dict[str, Any] = {
        KIND: np.full(m, "ad", dtype="<U4"),
        ROW: np.full(m, -1, dtype=batch.column(ROW).dtype),
        "ad.id": [w.ad.ad_id for w in ws],
        "ad.headline": [w.ad.headline for w in ws],
        "ad.body": [w.ad.body for w in ws],
        "ad.call_to_action": [w.ad.call_to_action for w in ws],
        "ad.click_url": [w.ad.click_url for w in ws],
        "ad.image_url": [f"/v1/assets/{w.ad.image_sha256}" if w.ad.image_sha256 else "" for w in ws],
        "ad.campaign_id": [w.campaign.campaign_id for w in ws],
        "ad.ad_group_id": [w.ad_group.ad_group_id for w in ws],
        "ad.token": [a.token for a in page.ads],
        "ad.pctr": np.array([w.pctr for w in ws], dtype=np.float64),
        "ad.ecpm": np.array([w.ecpm for w in ws], dtype=np.float64),
        "ad.price_micros": np.array([w.price_micros for w in ws], dtype=np.int64),
        "ad.slot": np.array([w.slot for w in ws], dtype=np.int64),
        "ad.slot_rule": [a.slot_rule for a in page.ads],
    }
    ads = CandidateBatch(-1 - np.arange(m, dtype=np.int64), {k: np.asarray(v) for k, v in cols.items()})
    order = np.array([i if kind == "post" else n + i for kind, i in page.order], dtype=np.intp)
    # lazy: the page's ninety-odd columns are gathered when read, not copied for the sake of a few ads
    return posts.interleave(ads, order)

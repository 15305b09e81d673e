"""The ad decision for one page: eligibility, frequency, pacing, pCTR, auction, budget reserve.

``AdServer.decide(request, n_slots)`` runs, on the calling thread and over numpy columns:

1. **eligibility** — :class:`~feedmix.ads.decision.targeting_index.TargetingIndex` (counts per rule);
2. **frequency** — one read of the user's frequency record, capped ad groups removed;
3. **pacing** — each remaining ad group's campaign enters with its PI controller's serve
   probability (the shared spend is re-read every ``update_interval_s``, not per request);
   a campaign-unit experiment's knobs (:class:`CampaignKnobs`) then scale the arms' bids;
4. **pCTR** — one vectorised score of every remaining ad group at the reference position;
5. **auction** — GSP over quality-adjusted eCPM with per-slot reserves, one ad per advertiser;
6. **budget reserve** — the winners' spend is reserved atomically in the shared counters (one
   round trip); a winner whose campaign just ran out is dropped, its slot left empty.

Failure policy: if a store that guards money or caps (spend counters, frequency store) cannot
answer, the decision is empty and ``degraded`` — no ads rather than ads that might overspend or
break a cap. No exception ever reaches the feed from ``decide``: any other error is also caught,
named in ``error``, and gives an empty degraded decision.

``record_impression`` / ``record_click`` are the hooks of the tracking endpoints: they update the
frequency record and spend and return the :class:`BillingEvent` billing needs. They *do* raise
:class:`~feedmix.stores.errors.StoreUnavailable`, because a lost click charge must be retried by
the caller, not silently dropped.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import redis

from feedmix.ads.decision.auction import quality_factor, run_auction
from feedmix.ads.decision.frequency_caps import FrequencyStore, capped_rows
from feedmix.ads.decision.pacing import Pacer, PacingParams
from feedmix.ads.decision.spend_counters import NO_CAP, Hold, SpendCounters, day_of
from feedmix.ads.decision.targeting_index import BID_CPM, AdRequest, Snapshot, TargetingIndex
from feedmix.ads.pctr.pctr_model import DEFAULT_PRIOR_CTR, PctrModel, PctrScorer, PriorPctr
from feedmix.ads.store.model import Ad, AdGroup, Campaign
from feedmix.stores.errors import StoreUnavailable

log = logging.getLogger(__name__)

#: default reserve: $0.50 eCPM on every slot (in micros per thousand impressions)
DEFAULT_RESERVE_ECPM = 500_000.0


@dataclass(frozen=True)
class ServedAd:
    """What the tracking endpoints need to hand back to ``record_impression`` / ``record_click``."""

    campaign_id: str
    ad_group_id: str
    ad_id: str
    bid_kind: Literal["cpc", "cpm"]
    #: CPC: per click; CPM: per thousand impressions
    price_micros: int
    #: what was reserved at decision time (CPM: the impression's charge; CPC: its expected cost)
    reserved_micros: int
    day: int
    slot: int
    #: the budget split the decision reserved against ("": the whole campaign) and its share of the
    #: campaign's budget: a click bills against the same split
    split: str = ""
    split_share: float = 1.0


@dataclass(frozen=True)
class BudgetSplit:
    """A budget-split experiment's arm for this request: ``key`` names the split of every campaign's day
    budget the request spends from, ``share`` its share of that budget."""

    key: str
    share: float


@dataclass(frozen=True)
class CampaignKnobs:
    """Per-campaign auction knobs for one index version, by campaign row: what a campaign-unit
    experiment's arms set. ``in_experiment`` marks the campaigns an experiment randomised (either arm),
    whose entry into an auction is their exposure."""

    bid_multiplier: npt.NDArray[np.float64]
    in_experiment: npt.NDArray[np.bool_]


#: the knobs for the index a decision reads (None: no campaign is in an experiment)
KnobsOf = Callable[[TargetingIndex], CampaignKnobs | None]


@dataclass(frozen=True)
class Winner:
    ad: Ad
    ad_group: AdGroup
    campaign: Campaign
    price_micros: int
    ecpm: float
    pctr: float
    slot: int
    served: ServedAd


@dataclass(frozen=True)
class AdDecision:
    winners: list[Winner]
    trace: dict[str, Any]
    degraded: bool = False
    error: str = ""
    #: campaign rows (of the index decided on) in a campaign-unit experiment that competed in this
    #: auction: their exposures
    exposed_campaign_rows: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))


@dataclass(frozen=True)
class BillingEvent:
    """One billable event: ``billed_micros`` is charged; ``unbilled_micros`` is over-delivery."""

    kind: Literal["impression", "click"]
    campaign_id: str
    ad_group_id: str
    ad_id: str
    billed_micros: int
    unbilled_micros: int
    day: int
    ts: float


@dataclass
class _Serving:
    """Everything bound to one index build, swapped as one reference."""

    index: TargetingIndex
    pctr: PctrScorer


@dataclass
class AdServerConfig:
    reserve_ecpm: Sequence[float] | float = DEFAULT_RESERVE_ECPM
    prior_ctr: float = DEFAULT_PRIOR_CTR
    quality_gamma: float = 0.5
    pacing: PacingParams = field(default_factory=PacingParams)


def _scaled(reserve: Sequence[float] | float, scale: float) -> Sequence[float] | float:
    if scale == 1.0:
        return reserve
    return reserve * scale if isinstance(reserve, float | int) else [r * scale for r in reserve]


class AdServer:
    """Decides the ads of a page; see the module docstring."""

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        counters: SpendCounters,
        frequency: FrequencyStore,
        pctr_model: PctrModel | PriorPctr | None = None,
        config: AdServerConfig | None = None,
        seed: int | None = None,
    ) -> None:
        self.config = config or AdServerConfig()
        self.counters = counters
        self.frequency = frequency
        self.pctr_model: PctrModel | PriorPctr = pctr_model or PriorPctr(self.config.prior_ctr)
        self.pacer = Pacer(counters, self.config.pacing)
        self._seed = seed
        self._local = threading.local()
        self._pacing_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._version = 0
        self._serving = self._bind(TargetingIndex.build(snapshot, version=0))

    # -- index lifecycle -----------------------------------------------------------------------

    def _bind(self, index: TargetingIndex) -> _Serving:
        self.pacer.bind(index)
        return _Serving(index, self.pctr_model.bind(index))

    @property
    def index(self) -> TargetingIndex:
        return self._serving.index

    def update_snapshot(self, snapshot: Snapshot) -> TargetingIndex:
        """Rebuild the index from a new snapshot (campaigns changed) and swap it in."""
        self._version += 1
        index = TargetingIndex.build(snapshot, version=self._version)
        self._serving = self._bind(index)
        return index

    def set_pctr_model(self, model: PctrModel | PriorPctr) -> None:
        self.pctr_model = model
        self._serving = _Serving(self._serving.index, model.bind(self._serving.index))

    def _rng(self) -> np.random.Generator:
        rng: np.random.Generator | None = getattr(self._local, "rng", None)
        if rng is None:
            seed = None if self._seed is None else self._seed + threading.get_ident() % 10_000
            rng = self._local.rng = np.random.default_rng(seed)
        return rng

    # -- background pacing ------------------------------------------------------------------------

    def start_pacing_thread(self, clock: Callable[[], float] = time.time) -> None:
        """Refresh the pacer from the shared counters on a daemon thread instead of in ``decide``.

        With Redis counters, reading every campaign's spend costs tens to hundreds of milliseconds
        at tens of thousands of campaigns (measured: 589 ms at 25k); on the request thread that
        would stall one request per interval. A server runs this; simulations with their own clock
        leave it off and let ``decide`` step the controller at the request's time. A failed read is
        logged and retried next interval; the budget guard is the atomic reserve, not this read.
        """
        if self._pacing_thread is not None:
            return
        interval = self.config.pacing.update_interval_s

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.pacer.maybe_update(clock())
                except Exception as exc:  # a Redis outage: decisions already refuse to serve
                    log.warning("pacer refresh failed: %s", exc)
                self._stop.wait(interval)

        self._pacing_thread = threading.Thread(target=loop, name="ads-pacer", daemon=True)
        self._pacing_thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._pacing_thread is not None:
            self._pacing_thread.join()
            self._pacing_thread = None

    # -- the decision --------------------------------------------------------------------------

    def decide(
        self,
        req: AdRequest,
        n_slots: int = 1,
        *,
        reserve: bool = True,
        split: BudgetSplit | None = None,
        reserve_scale: float = 1.0,
        knobs: KnobsOf | None = None,
    ) -> AdDecision:
        """The winners of ``req``'s ad slots; never raises (see the failure policy).

        ``reserve=False`` (a shadow's dry run) decides the same way but reserves no budget: every
        winner counts as granted, and nothing in the shared counters moves. ``split`` spends from a
        budget-split arm's share of each campaign's budget (and the campaign's whole budget still
        caps it); ``reserve_scale`` multiplies the slots' reserve prices (an auction experiment's knob);
        ``knobs`` gives campaign-unit experiments' per-campaign knobs for the index decided on.
        """
        trace: dict[str, Any] = {"n_slots": n_slots}
        try:
            return self._decide(req, n_slots, trace, reserve, split, reserve_scale, knobs)
        except (StoreUnavailable, redis.RedisError) as exc:
            trace["degraded_reason"] = "store unavailable"
            return AdDecision([], trace, degraded=True, error=f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # never into the feed: an ad bug must not fail the page
            log.exception("ad decision failed")
            return AdDecision([], trace, degraded=True, error=f"{type(exc).__name__}: {exc}")

    def _decide(
        self,
        req: AdRequest,
        n_slots: int,
        trace: dict[str, Any],
        reserve: bool,
        split: BudgetSplit | None,
        reserve_scale: float,
        knobs_of: KnobsOf | None,
    ) -> AdDecision:
        serving = self._serving
        index = serving.index
        timings: dict[str, float] = {}
        trace["index_version"] = index.version
        trace["total"] = len(index)

        t = time.perf_counter()
        rows, removed = index.eligible(req)
        timings["eligibility"] = time.perf_counter() - t
        trace["removed_by_rule"] = removed
        trace["eligible"] = int(rows.shape[0])

        t = time.perf_counter()
        capped = capped_rows(index, self.frequency.recent(req.user_id), req.now) if rows.size else rows
        if capped.size:
            rows = rows[~np.isin(rows, capped)]
        timings["frequency"] = time.perf_counter() - t
        trace["after_frequency"] = int(rows.shape[0])

        t = time.perf_counter()
        if self._pacing_thread is None:
            self.pacer.maybe_update(req.now)
        camp = index.campaign_row[rows]
        if rows.size:
            keep = self._rng().random(rows.shape[0]) < self.pacer.serve_prob(camp)
            rows, camp = rows[keep], camp[keep]
        timings["pacing"] = time.perf_counter() - t
        trace["after_pacing"] = int(rows.shape[0])

        t = time.perf_counter()
        match, overlap = index.match_features(req, rows)
        pctr = serving.pctr.score(rows, match, overlap)
        timings["pctr"] = time.perf_counter() - t

        t = time.perf_counter()
        bids = index.bid_micros[rows]
        knobs = knobs_of(index) if knobs_of is not None and rows.size else None
        exposed = np.empty(0, np.int64)
        if knobs is not None:
            # an automated-bid arm: the campaign's bids scaled in every auction it enters
            bids = np.rint(bids * knobs.bid_multiplier[camp]).astype(bids.dtype)
            competed = np.zeros(knobs.in_experiment.shape[0], dtype=bool)
            competed[camp] = True  # a mask, not a sort: campaigns are few, rows many
            exposed = np.flatnonzero(competed & knobs.in_experiment).astype(np.int64, copy=False)
        timings["knobs"] = time.perf_counter() - t

        t = time.perf_counter()
        is_cpm = index.bid_kind[rows] == BID_CPM
        quality = quality_factor(
            pctr, is_cpm, prior_ctr=self.config.prior_ctr, gamma=self.config.quality_gamma
        )
        result = run_auction(
            bid_micros=bids,
            is_cpm=is_cpm,
            pctr=pctr,
            quality=quality,
            advertiser=index.advertiser_row[rows],
            n_slots=n_slots,
            reserve_ecpm=_scaled(self.config.reserve_ecpm, reserve_scale),
        )
        timings["auction"] = time.perf_counter() - t
        trace["auction_competing"] = result.n_competing
        trace["auction_winners"] = int(result.winners.shape[0])

        t = time.perf_counter()
        day = day_of(req.now)
        holds: list[Hold] = []
        served: list[ServedAd] = []
        for slot, (pos, price) in enumerate(
            zip(result.winners.tolist(), result.price_micros.tolist(), strict=True)
        ):
            row = int(rows[pos])
            c = int(camp[pos])
            cpm = bool(is_cpm[pos])
            # CPM: the impression's price (bid unit is per thousand); CPC: expected cost of the impression
            amount = math.ceil(price / 1000.0) if cpm else math.ceil(price * float(pctr[pos]))
            day_cap = int(self.pacer.day_cap[c])
            holds.append(
                Hold(
                    campaign_id=index.campaign_ids[c],
                    day=day,
                    amount=amount,
                    day_cap=day_cap,
                    life_cap=int(self.pacer.life_cap[c]),
                    bill_now=cpm,
                    split=split.key if split is not None else "",
                    split_day_cap=int(day_cap * split.share) if split is not None else NO_CAP,
                )
            )
            group = index.ad_groups[row]
            ad = self._pick_ad(index.ads[row])
            served.append(
                ServedAd(
                    campaign_id=group.campaign_id,
                    ad_group_id=group.ad_group_id,
                    ad_id=ad.ad_id,
                    bid_kind=group.bid_kind,
                    price_micros=int(price),
                    reserved_micros=amount,
                    day=day,
                    slot=slot,
                    split=split.key if split is not None else "",
                    split_share=split.share if split is not None else 1.0,
                )
            )
        if reserve:
            granted = self.counters.reserve(holds) if holds else []
        else:
            granted, trace["dry_run"] = [True] * len(holds), True
        timings["budget"] = time.perf_counter() - t
        winners: list[Winner] = []
        for k, ok in enumerate(granted):
            if not ok:
                continue
            pos = int(result.winners[k])
            row = int(rows[pos])
            s = served[k]
            winners.append(
                Winner(
                    ad=next(a for a in index.ads[row] if a.ad_id == s.ad_id),
                    ad_group=index.ad_groups[row],
                    campaign=index.campaigns[int(camp[pos])],
                    price_micros=s.price_micros,
                    ecpm=float(result.ecpm[k]),
                    pctr=float(pctr[pos]),
                    slot=s.slot,
                    served=s,
                )
            )
        trace["budget_refused"] = len(granted) - len(winners)
        trace["winners"] = len(winners)
        trace["timings_ms"] = {k: round(v * 1000.0, 4) for k, v in timings.items()}
        if exposed.size:
            trace["exposed_campaigns"] = int(exposed.size)
        return AdDecision(winners, trace, exposed_campaign_rows=exposed)

    def _pick_ad(self, ads: tuple[Ad, ...]) -> Ad:
        """Rotate evenly among an ad group's active ads (creative testing is out of scope)."""
        return ads[0] if len(ads) == 1 else ads[int(self._rng().integers(0, len(ads)))]

    # -- explanations --------------------------------------------------------------------------

    def explain(self, req: AdRequest, ad_group_id: str) -> list[str]:
        """Why ``ad_group_id`` would not serve on ``req``: targeting, frequency cap, pacing, budget.

        Auction loss is not listed: it depends on the competition of one draw; ``decide``'s trace
        shows the auction. Raises StoreUnavailable if the frequency store cannot be read.
        """
        index = self._serving.index
        reasons = index.explain(req, ad_group_id)
        row = index.row_of.get(ad_group_id)
        if row is None:
            return reasons
        capped = capped_rows(index, self.frequency.recent(req.user_id), req.now)
        if row in set(capped.tolist()):
            reasons.append(
                f"frequency: user {req.user_id} reached {int(index.freq_max[row])} impressions "
                f"in {float(index.freq_window_s[row]):.0f}s"
            )
        c = int(index.campaign_row[row])
        p = float(self.pacer.controller.serve_prob[c])
        if self.pacer.day_spent.size and self.pacer.day_spent[c] >= self.pacer.day_cap[c]:
            reasons.append(f"budget: campaign {index.campaign_ids[c]} spent its cap for the day")
        elif p < 1.0:
            reasons.append(f"pacing: campaign {index.campaign_ids[c]} enters {p:.1%} of requests (throttle)")
        return reasons

    # -- tracking hooks ------------------------------------------------------------------------

    def record_impression(self, user_id: str, served: ServedAd, ts: float) -> BillingEvent:
        """Count the impression for frequency caps; CPM impressions bill what was reserved."""
        index = self._serving.index
        row = index.row_of.get(served.ad_group_id)
        if row is not None:
            self.frequency.record(
                user_id, served.ad_group_id, ts, int(index.freq_max[row]), float(index.freq_window_s[row])
            )
        billed = served.reserved_micros if served.bid_kind == "cpm" else 0
        return BillingEvent(
            "impression", served.campaign_id, served.ad_group_id, served.ad_id, billed, 0, served.day, ts
        )

    def record_click(self, served: ServedAd, ts: float) -> BillingEvent:
        """Bill a CPC click (up to the hard cap of budget plus tolerance); CPM clicks bill nothing."""
        if served.bid_kind != "cpc":
            return BillingEvent(
                "click", served.campaign_id, served.ad_group_id, served.ad_id, 0, 0, served.day, ts
            )
        index = self._serving.index
        c = index.campaign_row_of.get(served.campaign_id)
        # a campaign that left the index since the impression: no cap is known, so nothing is billed
        day_hard, life_hard = self.pacer.hard_caps(c) if c is not None else (0, -1)
        charge = self.counters.charge(
            served.campaign_id,
            served.day,
            served.price_micros,
            day_hard,
            life_hard,
            split=served.split,
            split_hard_cap=int(day_hard * served.split_share) if served.split else NO_CAP,
        )
        return BillingEvent(
            "click",
            served.campaign_id,
            served.ad_group_id,
            served.ad_id,
            charge.billed,
            charge.unbilled,
            served.day,
            ts,
        )

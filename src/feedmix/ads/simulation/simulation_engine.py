"""The traffic engine of ``feedmix ads simulate``: one simulated day of page views through the ad server.

See :mod:`feedmix.ads.simulation.ads_simulation` for the model as a whole; this module holds the parts that
run per request. The world (corpus, users, ground truth, pCTR model) is built once by
:func:`build_world` and shared by the main day and every ad-load level, so the levels differ only
in the ad load.

Random streams are split by purpose (traffic, pages, clicks, auction), each from
``SeedSequence([seed, k])``: the page views and their posts do not depend on which ads won, so two
runs that differ only in the ad load see the very same pages (common random numbers) and their
difference is the ad load's effect, not sampling noise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from feedmix.ads.decision.ad_decision import AdServer, AdServerConfig
from feedmix.ads.decision.ad_placement import UNRATED, UNSAFE, BlendParams, blend
from feedmix.ads.decision.feed_ads import page_keywords
from feedmix.ads.decision.frequency_caps import MemoryFrequencyStore
from feedmix.ads.decision.pacing import PacingParams, day_fraction
from feedmix.ads.decision.spend_counters import DAY_S, MemorySpendCounters, day_of
from feedmix.ads.decision.targeting_index import AdRequest, Snapshot
from feedmix.ads.pctr.ad_log_generator import GroundTruth, generate_ad_log
from feedmix.ads.pctr.pctr_model import PctrModel, PriorPctr
from feedmix.ads.store.model import Ad, AdGroup, Campaign
from feedmix.ads.store.synthetic_campaigns import DEVICES, GEOS, INTERESTS
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.simulation.behavior import BehaviorModel
from feedmix.simulation.population import Population

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: 2024-01-01 00:00 UTC, a Monday: business-hours schedules of the synthetic ad groups apply
DEFAULT_DAY_START = 1_704_067_200.0
#: relative page views per UTC hour: a trough before dawn, a lunchtime bump and an evening peak
#: (the shape of a large community site's US-heavy traffic, scaled so the peak is ~3x the trough)
DIURNAL_PROFILE: tuple[float, ...] = (
    0.9, 0.75, 0.6, 0.5, 0.45, 0.45, 0.5, 0.6, 0.75, 0.9, 1.0, 1.05,
    1.15, 1.25, 1.3, 1.3, 1.3, 1.35, 1.4, 1.45, 1.5, 1.45, 1.3, 1.1,
)  # fmt: skip
#: geo and device shares of the simulated users (the ad groups target them)
GEO_SHARES = (0.45, 0.08, 0.1, 0.06, 0.05, 0.05, 0.08, 0.05, 0.04, 0.04)
DEVICE_SHARES = (0.35, 0.55, 0.10)
#: a page's posts are drawn from the top of the user's communities: rank ~ Geometric(this) - 1
PAGE_RANK_P = 0.04


@dataclass(frozen=True)
class SimParams:
    """One simulated day's knobs (the CLI's flags)."""

    requests: int = 200_000
    ad_load: float = 0.15
    page_size: int = 25
    first_position: int = 2
    min_gap: int = 3
    buckets: int = 96
    seed: int = 0
    day_start: float = DEFAULT_DAY_START
    overspend_tolerance: float = 0.05

    def blend_params(self) -> BlendParams:
        return BlendParams(first_position=self.first_position, min_gap=self.min_gap, max_load=self.ad_load)


@dataclass
class World:
    """What every simulated day shares: posts, users and their context, the ads' true CTR, pCTR."""

    corpus: RedditCorpus
    behavior: BehaviorModel
    population: Population
    user_geo: list[str]
    user_device: list[str]
    user_interests: list[tuple[str, ...]]
    truth: GroundTruth
    pctr: PctrModel | PriorPctr


def build_world(
    corpus: RedditCorpus,
    snapshot: Snapshot,
    *,
    n_users: int = 10_000,
    seed: int = 0,
    pctr: str = "trained",
    log_impressions: int = 50_000,
) -> World:
    """Users, their geo/device/interests, the ground-truth CTR and a pCTR model trained on its log.

    The pCTR model is trained on a log drawn from the same ground truth the simulation clicks by
    (:func:`generate_ad_log`), the way the production model is trained on yesterday's log: the
    auction then ranks ads by an estimate of their appeal, not by bid alone.
    """
    population = Population.generate(corpus, None, n_users=n_users, seed=seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    geo = rng.choice(len(GEOS), size=n_users, p=np.asarray(GEO_SHARES) / sum(GEO_SHARES))
    device = rng.choice(len(DEVICES), size=n_users, p=np.asarray(DEVICE_SHARES) / sum(DEVICE_SHARES))
    interests = np.argsort(rng.random((n_users, len(INTERESTS))), axis=1)[:, :3]
    log, truth = generate_ad_log(snapshot, max(log_impressions, 1), seed=seed)
    model: PctrModel | PriorPctr = PctrModel.train(log) if pctr == "trained" else PriorPctr()
    return World(
        corpus=corpus,
        behavior=BehaviorModel(corpus),
        population=population,
        user_geo=[GEOS[int(g)] for g in geo],
        user_device=[DEVICES[int(d)] for d in device],
        user_interests=[tuple(INTERESTS[int(i)] for i in row) for row in interests],
        truth=truth,
        pctr=model,
    )


def scale_budgets(snapshot: Snapshot, factor: float) -> list[tuple[Campaign, AdGroup, list[Ad]]]:
    """The snapshot with every campaign budget times ``factor`` (ids unchanged, so truth still applies).

    A shorter simulation keeps the market's balance only if budgets shrink with the traffic.
    """
    scaled: dict[str, Campaign] = {}
    out: list[tuple[Campaign, AdGroup, list[Ad]]] = []
    for campaign, group, ads in snapshot:
        c = scaled.get(campaign.campaign_id)
        if c is None:
            budget = max(1, int(campaign.budget_micros * factor))
            c = scaled[campaign.campaign_id] = dataclasses.replace(campaign, budget_micros=budget)
        out.append((c, group, list(ads)))
    return out


class _SeededAdServer(AdServer):
    """The ad server with one seeded random stream.

    ``AdServer`` seeds a generator per thread from the thread id (right for a serving pool); a
    simulation needs one stream it can repeat, so that two ad-load levels draw alike.
    """

    def __init__(self, *args: object, rng: np.random.Generator, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._sim_rng = rng

    def _rng(self) -> np.random.Generator:
        return self._sim_rng


@dataclass
class DayResult:
    """One simulated day. Money in micros; per-campaign arrays in ``campaign_ids`` order."""

    params: SimParams
    campaign_ids: list[str]
    #: the day's cap per campaign (daily budget; for lifetime budgets the pacer's share of today)
    budget: IntArray
    billed: IntArray
    #: click charges the hard cap refused (the platform's over-delivery; never billed)
    unbilled: IntArray
    impressions: IntArray
    clicks: IntArray
    #: seconds since the day's start at the end of each bucket
    bucket_end_s: FloatArray
    #: billed spend per campaign at the end of each bucket, ``[n_campaigns, buckets]``
    spend_curve: IntArray
    #: the pacer's serve probability per campaign, averaged over each bucket's page views (the
    #: controller can flip between 0 and 1 within seconds, so a sample at the bucket's end misleads)
    serve_prob_curve: FloatArray
    #: the target share of the budget by the end of each bucket (the traffic profile's CDF)
    target_share: FloatArray
    page_views: int
    #: ad slots the blender offered (decisions asked for), ads served, items shown (posts + ads)
    slots: int
    ads_served: int
    items_shown: int
    #: expected organic engagement (clicks + upvotes - hides) summed over page views
    organic_engagement: float
    #: pCTR winners reserved but not placed (the blender found no slot safe for their tier)
    unplaced: int

    @property
    def revenue(self) -> int:
        return int(self.billed.sum())


def _arrival_times(rng: np.random.Generator, n: int, profile: Sequence[float]) -> FloatArray:
    """``n`` sorted arrival offsets in [0, 86400) with hourly density ∝ ``profile``."""
    w = np.asarray(profile, dtype=np.float64)
    hours = rng.choice(24, size=n, p=w / w.sum())
    out: FloatArray = np.sort((hours + rng.random(n)) * 3600.0)
    return out


def run_day(
    world: World,
    snapshot: Snapshot,
    params: SimParams,
    *,
    progress: bool = False,
    label: str = "day",
) -> DayResult:
    """Simulate ``params.requests`` page views over one day; see the module docstring."""
    corpus, behavior = world.corpus, world.behavior
    users = world.population.users
    pacing = PacingParams(overspend_tolerance=params.overspend_tolerance, hourly_profile=DIURNAL_PROFILE)
    counters = MemorySpendCounters()
    server = _SeededAdServer(
        snapshot,
        counters=counters,
        frequency=MemoryFrequencyStore(),
        pctr_model=world.pctr,
        config=AdServerConfig(pacing=pacing),
        rng=np.random.default_rng(np.random.SeedSequence([params.seed, 4])),
    )
    index = server.index
    ids = index.campaign_ids
    n_c = len(ids)
    row_of_campaign = index.campaign_row_of
    blend_params = params.blend_params()
    day = day_of(params.day_start)
    if params.day_start != day * DAY_S:
        raise ValueError("day_start must be a UTC midnight")

    traffic = np.random.default_rng(np.random.SeedSequence([params.seed, 1]))
    page_rng = np.random.default_rng(np.random.SeedSequence([params.seed, 2]))
    click_rng = np.random.default_rng(np.random.SeedSequence([params.seed, 3]))
    offsets = _arrival_times(traffic, params.requests, DIURNAL_PROFILE)
    activity = world.population.activity
    who = traffic.choice(len(users), size=params.requests, p=activity / activity.sum())

    n_b = params.buckets
    bucket_end = (np.arange(1, n_b + 1) * (DAY_S / n_b)).astype(np.float64)
    spend_curve = np.zeros((n_c, n_b), dtype=np.int64)
    prob_sum = np.zeros((n_c, n_b), dtype=np.float64)
    prob_n = np.zeros(n_b, dtype=np.int64)
    impressions = np.zeros(n_c, dtype=np.int64)
    clicks = np.zeros(n_c, dtype=np.int64)
    unbilled = np.zeros(n_c, dtype=np.int64)
    slots = served_total = items = unplaced = 0
    engagement = 0.0
    room_cache: dict[bytes, int] = {}
    comm_offsets = corpus.community_offsets
    top_rows = corpus.community_top_rows
    counts = np.diff(comm_offsets)

    def snap(b: int) -> None:
        spend_curve[:, b] = [counters.billed(c, day)[0] for c in ids]

    b = 0
    for k in tqdm(range(params.requests), desc=label, disable=not progress, mininterval=1.0, unit="pv"):
        t_off = float(offsets[k])
        while b < n_b and t_off >= bucket_end[b]:
            snap(b)
            b += 1
        now = params.day_start + t_off
        if n_c:  # the probability this page met (before its own decision steps the pacer)
            prob_sum[:, b] += server.pacer.controller.serve_prob
        prob_n[b] += 1
        u = int(who[k])
        user = users[u]
        # the page: posts from the top of the user's communities (by interest), ranked by the
        # user's click probability at the top slot -- a stand-in for the ranker, not the service
        joined = user.communities.astype(np.int64)
        pref = user.interests[joined].astype(np.float64)
        pref = pref / pref.sum() if pref.sum() > 0 else np.full(joined.shape, 1.0 / joined.size)
        picked = page_rng.choice(joined, size=params.page_size, p=pref)
        rank = np.minimum(page_rng.geometric(PAGE_RANK_P, size=params.page_size) - 1, counts[picked] - 1)
        rows = np.unique(top_rows[comm_offsets[picked] + rank])
        score = behavior.probabilities(user, rows, 0).click
        rows = rows[np.argsort(-score, kind="stable")]
        safety = np.where(corpus.over_18[rows], UNSAFE, UNRATED)

        key = safety.tobytes()
        room = room_cache.get(key)
        if room is None:
            probe = blend(safety, ["relaxed"] * len(rows), blend_params).ad_positions
            room = room_cache[key] = sum(1 for p in probe if p >= 0)
        positions = np.arange(rows.shape[0])
        page_ads = 0
        if room:
            slots += room
            req = AdRequest(
                user_id=user.user_id,
                now=now,
                communities=tuple(dict.fromkeys(corpus.communities[int(c)] for c in corpus.community[rows])),
                keywords=page_keywords([corpus.titles[int(r)] for r in rows]),
                geo=world.user_geo[u],
                device=world.user_device[u],
                interests=world.user_interests[u],
                nsfw_community=bool(corpus.over_18[rows].all()),
            )
            winners = server.decide(req, room).winners
            if winners:
                placed = blend(safety, [w.ad_group.safety_tier for w in winners], blend_params)
                shown = [j for j in range(len(winners)) if placed.ad_positions[j] >= 0]
                unplaced += len(winners) - len(shown)
                if shown:
                    shown.sort(key=lambda j: placed.ad_positions[j])
                    ws = [winners[j] for j in shown]
                    g_rows = np.asarray([index.row_of[w.ad_group.ad_group_id] for w in ws], dtype=np.int64)
                    match, overlap = index.match_features(req, g_rows)
                    ctr = world.truth.ctr(
                        [w.ad_group.ad_group_id for w in ws],
                        [w.campaign.campaign_id for w in ws],
                        np.arange(len(ws), dtype=np.int64),  # ad slot ordinal: 0 = the page's top ad
                        match,
                        overlap,
                    )
                    clicked = click_rng.random(len(ws)) < ctr
                    for w, hit in zip(ws, clicked.tolist(), strict=True):
                        c = row_of_campaign[w.served.campaign_id]
                        server.record_impression(user.user_id, w.served, now)
                        impressions[c] += 1
                        if hit:
                            bill = server.record_click(w.served, now)
                            clicks[c] += 1
                            unbilled[c] += bill.unbilled_micros
                    served_total += len(ws)
                    page_ads = len(ws)
                    # posts move down by the ads placed above them
                    positions = np.asarray(
                        [
                            p
                            for p, (kind, _) in enumerate(_visible(placed.order, set(shown)))
                            if kind == "post"
                        ],
                        dtype=np.int64,
                    )
        items += int(rows.shape[0]) + page_ads
        engagement += float(behavior.expected_engagement(user, rows, positions).sum())
    while b < n_b:
        snap(b)
        b += 1

    budget = server.pacer.day_cap.astype(np.int64).copy()
    billed = np.asarray([counters.billed(c, day)[0] for c in ids], dtype=np.int64)
    target = np.asarray([day_fraction(params.day_start + s - 1e-6, DIURNAL_PROFILE) for s in bucket_end])
    target[-1] = 1.0
    return DayResult(
        params=params,
        campaign_ids=list(ids),
        budget=budget,
        billed=billed,
        unbilled=unbilled,
        impressions=impressions,
        clicks=clicks,
        bucket_end_s=bucket_end,
        spend_curve=spend_curve,
        serve_prob_curve=np.where(prob_n > 0, prob_sum / np.maximum(prob_n, 1), 1.0),
        target_share=target,
        page_views=params.requests,
        slots=slots,
        ads_served=served_total,
        items_shown=int(items),
        organic_engagement=engagement,
        unplaced=unplaced,
    )


def _visible(order: list[tuple[str, int]], shown: set[int]) -> list[tuple[str, int]]:
    """The blended page as the user sees it: posts, and the ads that found a slot."""
    return [(kind, i) for kind, i in order if kind == "post" or i in shown]


def hard_cap(result: DayResult) -> IntArray:
    """Per campaign: the most billing may ever reach today, ``budget * (1 + tolerance)``."""
    out: IntArray = np.floor(result.budget * (1.0 + result.params.overspend_tolerance)).astype(np.int64)
    return out

"""The ads half of the feed's mixer: decide the page's ads, blend them in, make them trackable.

After the organic pipeline has ranked a page, ``FeedAds.mix`` builds the ad request from the page
(its communities, title keywords, NSFW flags), asks the ``AdServer`` for as many ads as the placement
rules can place (``first_position``, ``min_gap``, ``max_load``), places the winners and returns the
blended order. Each placed ad carries a signed token for the tracking endpoints
(``feedmix.ads.api.ad_tracker``). The pipeline step that calls it is the ``ads_blender`` component.

If the ad server reports a degraded decision (Redis counters or frequency store unavailable), the
page gets no ads and the summary says ``degraded``; the blender reports that as its own fallback.

Campaign changes reach serving through ``refresh``: when the campaign store's revision moves, the
active snapshot is re-read and the targeting index rebuilt (a background thread polls every
``refresh_interval_s``). Other checks that swap serving state (the pCTR model file, see
``feedmix.ads.ads_runtime``) join that thread through ``also_on_tick``, so index rebuilds and
model swaps never race each other.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.ads.decision.ad_decision import AdServer, BudgetSplit, KnobsOf
from feedmix.ads.decision.ad_placement import SAFE, UNRATED, UNSAFE, BlendParams, blend
from feedmix.ads.decision.ad_token import AdTokens, TokenPayload
from feedmix.ads.decision.targeting_index import AdRequest, BrandSafety
from feedmix.ads.store.campaign_store import CampaignStore
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.signals.post_signal_table import PostSignalTable

log = logging.getLogger(__name__)
_WORD = re.compile(r"[a-z0-9]{3,}")


def page_keywords(titles: list[str], limit: int = 64) -> tuple[str, ...]:
    """Lower-case word tokens (3+ letters) of the page's titles, first occurrence order."""
    seen: dict[str, None] = {}
    for title in titles:
        for word in _WORD.findall(title.lower()):
            seen.setdefault(word, None)
            if len(seen) >= limit:
                return tuple(seen)
    return tuple(seen)


class FeedAds:
    def __init__(
        self,
        server: AdServer,
        store: CampaignStore,
        tokens: AdTokens,
        corpus: RedditCorpus,
        *,
        revision: int = -1,
    ) -> None:
        self.server, self.store, self.tokens, self.corpus = server, store, tokens, corpus
        #: decide without reserving budget (a shadow's view: see ``dry_run_view``)
        self.dry_run = False
        self._revision = revision
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        #: run after each campaign refresh on the watcher thread (each failure logged on its own)
        self.also_on_tick: list[Callable[[], object]] = []
        #: the corpus' content signals (brand safety, intents, categories, products), swapped in whole
        #: when a labelling run finishes; None: every post unrated and no contextual values
        self.signals: PostSignalTable | None = None

    # -- campaigns -------------------------------------------------------------------------------

    def refresh(self, now: float) -> bool:
        """Rebuild the index if the store changed since the last build; True if it did."""
        revision = self.store.revision()
        if revision == self._revision:
            return False
        snapshot = self.store.active_snapshot(now)
        self.server.update_snapshot([(g.campaign, g.ad_group, list(g.ads)) for g in snapshot.groups])
        self._revision = snapshot.revision
        log.info("ads: %d active ad groups at store revision %d", len(snapshot.groups), snapshot.revision)
        return True

    def start_watching(self, interval_s: float, clock: Any) -> None:
        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.refresh(clock())
                except Exception as exc:  # the store is down: keep serving the last index
                    log.warning("ads: campaign refresh failed: %s", exc)
                for check in list(self.also_on_tick):
                    try:
                        check()
                    except Exception as exc:
                        log.warning("ads: periodic check failed: %s", exc)

        self._watcher = threading.Thread(target=loop, name="ads-campaigns", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None
        self.server.close()

    def dry_run_view(self) -> FeedAds:
        """The same ad server, index and tokens, deciding without reserving budget: what a shadow
        pipeline blends with, so a candidate's ads are real auctions that spend nothing. (Frequency
        caps and delivery move only when tracked events arrive, and a shadow's ads are never shown.)"""
        view = FeedAds(self.server, self.store, self.tokens, self.corpus, revision=self._revision)
        view.dry_run = True
        view.signals = self.signals
        return view

    # -- one page --------------------------------------------------------------------------------

    def mix(
        self,
        post_rows: npt.NDArray[np.int64],
        *,
        user_id: str,
        request_id: str,
        now: float,
        params: BlendParams,
        context: Mapping[str, str] | None = None,
        debug: bool = False,
        split: BudgetSplit | None = None,
        reserve_scale: float = 1.0,
        knobs: KnobsOf | None = None,
    ) -> PageAds:
        """Decide and place the ads of a page whose posts are the corpus rows ``post_rows``, in order."""
        c = self.corpus
        n_posts = len(post_rows)
        if n_posts == 0:  # no organic page, no ads
            return PageAds(
                [("post", i) for i in range(n_posts)], [], {"slots": 0, "served": 0, "degraded": False}
            )
        table = self.signals
        safety = page_safety(c.over_18[post_rows], table.safety_of(post_rows) if table is not None else None)
        # how many ads this page can hold at all: the decision asks for no more (no wasted reservations)
        room = sum(1 for p in blend(safety, ["relaxed"] * n_posts, params).ad_positions if p >= 0)
        ctx = context or {}
        communities = tuple(dict.fromkeys(c.communities[int(x)] for x in c.community[post_rows]))
        req = AdRequest(
            user_id=user_id,
            now=now,
            communities=communities,
            keywords=page_keywords([c.titles[int(r)] for r in post_rows]),
            geo=ctx.get("geo", ""),
            device=ctx.get("device", ""),
            nsfw_community=bool(c.over_18[post_rows].all()),
            brand_safety=best_slot_safety(safety, params.first_position),
            intents=table.intents_of(post_rows) if table is not None else (),
            categories=table.categories_of(post_rows) if table is not None else (),
            products=table.products_of(post_rows) if table is not None else (),
        )
        decision = (
            self.server.decide(
                req, room, reserve=not self.dry_run, split=split, reserve_scale=reserve_scale, knobs=knobs
            )
            if room
            else None
        )
        info: dict[str, Any] = {"slots": room, "served": 0, "degraded": False}
        if decision is not None:
            info["degraded"] = decision.degraded
            if decision.degraded:
                info["error"] = decision.error
            if debug:
                info["decision"] = decision.trace
        winners = decision.winners if decision is not None and not decision.degraded else []
        order: list[tuple[str, int]] = [("post", i) for i in range(n_posts)]
        placed_ads: list[PlacedAd] = []
        if winners:
            rows = np.asarray([self.server.index.row_of[w.ad_group.ad_group_id] for w in winners])
            match, overlap = self.server.index.match_features(req, rows)
            placed = blend(safety, [w.ad_group.safety_tier for w in winners], params)
            by_winner: dict[int, int] = {}
            for j, w in enumerate(winners):
                if placed.ad_positions[j] < 0:
                    continue
                payload = TokenPayload(
                    served=w.served,
                    user_id=user_id,
                    request_id=request_id,
                    position=placed.ad_positions[j],
                    issued_at=now,
                    community_match=int(match[j]),
                    keyword_overlap=int(overlap[j]),
                )
                by_winner[j] = len(placed_ads)
                placed_ads.append(
                    PlacedAd(w, self.tokens.issue(payload), _slot_rule(params, w.ad_group.safety_tier))
                )
            order = [
                (kind, i if kind == "post" else by_winner[i])
                for kind, i in placed.order
                if kind == "post" or i in by_winner
            ]
            info["served"] = len(placed_ads)
        if decision is not None and decision.exposed_campaign_rows.size:
            return PageAds(order, placed_ads, info, decision.exposed_campaign_rows)
        return PageAds(order, placed_ads, info)


#: a post's signal tier (0 safe, 1 sensitive, 2 unsafe, -1 unrated) -> its adjacency safety for placement
_ADJACENCY = np.array([SAFE, UNRATED, UNSAFE, UNRATED], dtype=np.int64)  # index -1 is the last: unrated


def page_safety(over_18: npt.NDArray[np.bool_], tiers: npt.NDArray[np.int8] | None) -> npt.NDArray[np.int64]:
    """Per post, what may sit next to it: NSFW is unsafe whatever the signals say; a post rated safe by
    the brand-safety signal admits every tier, a sensitive or unrated one ``standard`` and ``relaxed``
    ads, an unsafe one none that needs a rated neighbour."""
    base = (
        np.full(len(over_18), UNRATED, dtype=np.int64)
        if tiers is None
        else _ADJACENCY[tiers.astype(np.int64)]
    )
    return np.where(over_18, UNSAFE, base)


def best_slot_safety(safety: npt.NDArray[np.int64], first_position: int) -> BrandSafety:
    """The brand-safety rating of the page's best slot (both neighbours), for the eligibility rule: the
    blender then checks each slot exactly, so a ``strict`` ad group competes whenever some slot between
    two safe posts exists."""
    n = len(safety)
    best = UNSAFE
    for k in range(max(first_position, 1), n + 1):
        after = safety[k] if k < n else SAFE
        best = max(best, min(int(safety[k - 1]), int(after)))
        if best == SAFE:
            break
    rating: dict[int, BrandSafety] = {SAFE: "safe", UNRATED: "unrated", UNSAFE: "unsafe"}
    return rating[best]


@dataclass(frozen=True)
class PlacedAd:
    """An auction winner that found a slot: what the response shows and why it is there."""

    winner: Any
    token: str
    #: the placement rule that admitted it, in words (for "why this ad")
    slot_rule: str


@dataclass(frozen=True)
class PageAds:
    """The page's order as ("post", i) / ("ad", j) references, the placed ads, and the ``ads`` summary
    of the response (slots, served, degraded, and the decision trace on debug requests)."""

    order: list[tuple[str, int]]
    ads: list[PlacedAd]
    info: dict[str, Any]
    #: campaign rows of a campaign-unit experiment that competed for this page (their exposures)
    exposed_campaign_rows: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))


def _slot_rule(params: BlendParams, tier: str) -> str:
    return (
        f"first position {params.first_position}, at least {params.min_gap} posts between ads,"
        f" at most {params.max_load:.0%} ads, {tier} brand-safety neighbours"
    )

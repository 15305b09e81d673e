"""The ads half of the feed's mixer: decide the page's ads, blend them in, make them trackable.

After the organic pipeline has ranked a page, ``FeedAds.blend_into`` builds the ad request from the
page (its communities, title keywords, NSFW flags), asks the ``AdServer`` for as many ads as the
blender can place (``ads.first_position``, ``ads.min_gap``, ``ads.max_load``), places the winners,
and renumbers every item's ``position`` to its place on the blended page. Each ad item carries a
signed ``ad_token`` for the tracking endpoints (``feedmix.ads.ad_tracker``).

Failure never reaches the organic feed: if the ad server reports a degraded decision (Redis
counters or frequency store unavailable), the page is served without ads and the response says
``ads.degraded``; the feed itself is not marked degraded.

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
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.ads.ad_blender import UNRATED, UNSAFE, BlendParams, blend
from feedmix.ads.ad_decision import AdServer
from feedmix.ads.ad_token import AdTokens, TokenPayload
from feedmix.ads.campaign_store import CampaignStore
from feedmix.ads.targeting_index import AdRequest
from feedmix.corpus.reddit_corpus import RedditCorpus

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
        self._revision = revision
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        #: run after each campaign refresh on the watcher thread (each failure logged on its own)
        self.also_on_tick: list[Callable[[], object]] = []

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

    # -- one page --------------------------------------------------------------------------------

    def blend_into(
        self,
        body: dict[str, Any],
        post_rows: npt.NDArray[np.int64],
        *,
        now: float,
        params: BlendParams,
        context: Mapping[str, str] | None = None,
        debug: bool = False,
    ) -> None:
        """Insert the page's ads into ``body["items"]`` (posts in ``post_rows`` order) in place."""
        items: list[dict[str, Any]] = body["items"]
        if not items or len(post_rows) != len(items):
            return
        c = self.corpus
        safety = np.where(c.over_18[post_rows], UNSAFE, UNRATED)
        # how many ads this page can hold at all: the decision asks for no more (no wasted reservations)
        room = sum(1 for p in blend(safety, ["relaxed"] * len(items), params).ad_positions if p >= 0)
        ctx = context or {}
        communities = tuple(dict.fromkeys(c.communities[int(x)] for x in c.community[post_rows]))
        req = AdRequest(
            user_id=str(body["user_id"]),
            now=now,
            communities=communities,
            keywords=page_keywords([c.titles[int(r)] for r in post_rows]),
            geo=ctx.get("geo", ""),
            device=ctx.get("device", ""),
            nsfw_community=bool(c.over_18[post_rows].all()),
        )
        decision = self.server.decide(req, room) if room else None
        ads_info: dict[str, Any] = {"slots": room, "served": 0, "degraded": False}
        if decision is not None:
            ads_info["degraded"] = decision.degraded
            if decision.degraded:
                ads_info["error"] = decision.error
            if debug:
                ads_info["decision"] = decision.trace
        winners = decision.winners if decision is not None and not decision.degraded else []
        if winners:
            rows = np.asarray([self.server.index.row_of[w.ad_group.ad_group_id] for w in winners])
            match, overlap = self.server.index.match_features(req, rows)
            placed = blend(safety, [w.ad_group.safety_tier for w in winners], params)
            ad_items = {}
            for j, w in enumerate(winners):
                if placed.ad_positions[j] < 0:
                    continue
                payload = TokenPayload(
                    served=w.served,
                    user_id=req.user_id,
                    request_id=str(body["request_id"]),
                    position=placed.ad_positions[j],
                    issued_at=now,
                    community_match=int(match[j]),
                    keyword_overlap=int(overlap[j]),
                )
                ad_items[j] = self._ad_item(w, payload)
            merged = [
                items[i] if kind == "post" else ad_items[i]
                for kind, i in placed.order
                if kind == "post" or i in ad_items
            ]
            for pos, item in enumerate(merged):
                item["position"] = pos
            body["items"] = merged
            ads_info["served"] = len(ad_items)
        body["ads"] = ads_info

    def _ad_item(self, w: Any, payload: TokenPayload) -> dict[str, Any]:
        ad = w.ad
        return {
            "id": ad.ad_id,
            "kind": "ad",
            "position": payload.position,
            "headline": ad.headline,
            "body": ad.body,
            "call_to_action": ad.call_to_action,
            "click_url": ad.click_url,
            "image_url": f"/v1/assets/{ad.image_sha256}" if ad.image_sha256 else None,
            "campaign_id": w.campaign.campaign_id,
            "ad_group_id": w.ad_group.ad_group_id,
            "ad_token": self.tokens.issue(payload),
        }

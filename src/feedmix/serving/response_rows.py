"""The feed response's items, built from a pipeline's final batch: posts and ads alike, in page order.

The one place that owns the item shape (REST, the console and ``feedmix feed`` all read what this
writes). A post says why it is there by its ``source``, ``score`` and ``score_parts`` (and the
ranker's head ``predictions``); an ad by its ``why``: campaign, ad group, pCTR, eCPM, price and the
slot rule that placed it. Each row is read from columns, one gather per column, not per item.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from feedmix.components.blenders.ads_blender import KIND
from feedmix.core.candidates import CandidateBatch
from feedmix.core.executor import PipelineResult
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.rows import ROW


class ResponseRows:
    def __init__(self, corpus: RedditCorpus, now: float) -> None:
        self.corpus, self.now = corpus, now

    def items(self, result: PipelineResult, features: bool = False) -> list[dict[str, Any]]:
        """The page's items; with ``features`` (debug requests) each post also carries the online
        feature values it was ranked with (``f.*`` columns, defaults included)."""
        batch = result.batch
        if len(batch) == 0:
            return []
        kinds = batch.column(KIND).tolist() if batch.has(KIND) else ["post"] * len(batch)
        posts = [i for i, k in enumerate(kinds) if k == "post"]
        out: list[dict[str, Any]] = [{} for _ in kinds]
        if posts:
            # a blender keeps the page's rows in their order (a kit contract), so the posts' columns are
            # read from the page itself rather than gathered through the mixed batch
            page = result.page
            source, at = (
                (page, np.arange(len(page))) if len(page) == len(posts) else (batch, np.asarray(posts))
            )
            for i, item in zip(posts, self._posts(result, source, at, features), strict=True):
                out[i] = item
        ads = [i for i, k in enumerate(kinds) if k == "ad"]
        if ads:
            for i, item in zip(ads, self._ads(result, np.asarray(ads)), strict=True):
                out[i] = item
        for pos, item in enumerate(out):
            item["position"] = pos
        return out

    def _posts(
        self, result: PipelineResult, batch: CandidateBatch, at: np.ndarray[Any, Any], features: bool
    ) -> list[dict[str, Any]]:
        c = self.corpus
        rows = batch.column(ROW)[at]
        sources = batch.column("source")[at]
        scores = batch.column("score")[at]
        names = batch.column_names
        parts = {n[len("score.") :]: batch.column(n)[at] for n in names if n.startswith("score.")}
        heads = {n[len("p.") :]: batch.column(n)[at] for n in names if n.startswith("p.")}
        age_h = (self.now - c.created[rows]) / 3600.0
        feature_values = (
            {n: batch.column(n)[at].tolist() for n in names if n.startswith("f.")} if features else {}
        )
        out = []
        for i, r in enumerate(rows.tolist()):
            item = {
                "id": c.id_str[r],
                "kind": "post",
                "title": c.titles[r],
                "community": c.communities[int(c.community[r])],
                "score": float(scores[i]),
                "source": result.source_names[int(sources[i])],
                "created_utc": float(c.created[r]),
                "age_hours": float(age_h[i]),
                "post_score": int(c.score[r]),
                "num_comments": int(c.num_comments[r]),
                "over_18": bool(c.over_18[r]),
                "url": c.urls[r],
                "permalink": c.permalinks[r],
                "score_parts": {k: float(v[i]) for k, v in parts.items()},
                # the ranker's head probabilities (empty while the heuristic ranks)
                "predictions": {k: float(v[i]) for k, v in heads.items()},
            }
            if features:
                item["features"] = {k: v[i] for k, v in feature_values.items()}
            out.append(item)
        return out

    @staticmethod
    def _ads(result: PipelineResult, at: np.ndarray[Any, Any]) -> list[dict[str, Any]]:
        b = result.batch

        def col(name: str) -> list[Any]:
            return list(b.column(f"ad.{name}")[at].tolist())

        ids, image = col("id"), col("image_url")
        headline, body, cta, url = col("headline"), col("body"), col("call_to_action"), col("click_url")
        campaign, group, token = col("campaign_id"), col("ad_group_id"), col("token")
        pctr, ecpm, price, slot, rule = (
            col("pctr"),
            col("ecpm"),
            col("price_micros"),
            col("slot"),
            col("slot_rule"),
        )
        return [
            {
                "id": ids[i],
                "kind": "ad",
                "headline": headline[i],
                "body": body[i],
                "call_to_action": cta[i],
                "click_url": url[i],
                "image_url": image[i] or None,
                "campaign_id": campaign[i],
                "ad_group_id": group[i],
                "ad_token": token[i],
                "why": {
                    "campaign_id": campaign[i],
                    "ad_group_id": group[i],
                    "pctr": float(pctr[i]),
                    "ecpm": float(ecpm[i]),
                    "price_micros": int(price[i]),
                    "auction_slot": int(slot[i]),
                    "slot_rule": rule[i],
                },
            }
            for i in range(len(ids))
        ]

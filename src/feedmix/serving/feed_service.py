"""Runs a surface's pipeline for a request and turns the result into the API's response.

It owns what must happen before the response leaves: recording the served ids for the next
page (synchronously, or page 2 could repeat page 1), and building the response items.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from feedmix.ads.ad_slots_selector import AdSlotsSelector
from feedmix.ads.feed_ads import FeedAds
from feedmix.core.executor import PipelineExecutor, PipelineResult
from feedmix.core.load_shedding import QualityFactor, SheddingParams, budget_overrides
from feedmix.core.metrics import COMPONENT_CPU
from feedmix.core.pipeline import Pipeline
from feedmix.core.query import Deadline, Query
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.rows import ROW
from feedmix.serving.cursor import Cursor
from feedmix.stores.session_store import FeedSessionStore

log = logging.getLogger(__name__)

MAX_LIMIT = 100
#: the selector whose presence in a pipeline means "blend ads into this surface"
AD_SLOTS = "ad_slots"


class UnknownCommunity(LookupError):
    pass


class FeedService:
    def __init__(
        self,
        pipelines: Mapping[str, Pipeline],
        executor: PipelineExecutor,
        corpus: RedditCorpus,
        sessions: FeedSessionStore,
        now: float | None = None,
        ads: FeedAds | None = None,
        shedding: SheddingParams | None = None,
    ) -> None:
        self.pipelines = dict(pipelines)
        #: per pipeline, the load-shedding quality factor (None: never shed)
        self.quality = {name: QualityFactor(name, shedding) for name in self.pipelines} if shedding else {}
        #: the ads half of the mixer (None: organic only); blends into pipelines with ``ad_slots``
        self.ads = ads
        self.executor = executor
        self.corpus = corpus
        self.sessions = sessions
        self.now = corpus.now if now is None else now

    def query(
        self,
        pipeline: str,
        user_id: str,
        limit: int = 25,
        cursor: Cursor | None = None,
        debug: bool = False,
        overrides: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Query:
        """Build the query; raises ``ParamError`` for a bad override before anything runs."""
        p = self.pipelines[pipeline]
        params = p.params(overrides)
        cur = cursor or Cursor.new()
        ctx = {"session_id": cur.session_id, "page": cur.page, **(context or {})}
        return Query(
            user_id=user_id,
            surface=p.surface,
            params=params,
            deadline=Deadline.from_ms(float(params["pipeline.deadline_ms"])),
            request_id=uuid.uuid4().hex[:16],
            now=self.now,
            limit=limit,
            debug=debug,
            context=ctx,
        )

    def feed(
        self,
        pipeline: str,
        user_id: str,
        limit: int = 25,
        cursor: Cursor | None = None,
        debug: bool = False,
        overrides: Mapping[str, Any] | None = None,
        community: str | None = None,
        ad_context: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One page. ``ad_context`` (``geo``, ``device``) is what ad targeting may use beyond the page."""
        context: dict[str, Any] = {}
        if community is not None:
            if self.corpus.community_id(community) is None:
                raise UnknownCommunity(community)
            context["community"] = community
        cur = cursor or Cursor.new()
        qf = self.quality.get(pipeline)
        factor = qf.factor if qf is not None else 1.0
        p = self.pipelines[pipeline]
        shed = budget_overrides(factor, p.sources, p.default_params.as_dict(), overrides or {})
        query = self.query(pipeline, user_id, limit, cur, debug, {**shed, **(overrides or {})}, context)
        result = self.executor.run(p, query)
        if qf is not None:
            qf.observe(result.trace.wall_ms)
        failed = list(result.failed_components)
        next_cursor: str | None = None
        if len(result.batch) > 0:
            try:
                self.sessions.add_served(cur.session_id, result.batch.ids)
                next_cursor = cur.next().encode()
            except Exception as exc:  # without the record, page 2 could repeat page 1: no cursor
                log.warning("session store failed: %s", exc)
                failed.append("session_store")
        body: dict[str, Any] = {
            "request_id": query.request_id,
            "user_id": user_id,
            "surface": query.surface,
            "items": self.items(result, features=debug),
            "next_cursor": next_cursor,
            "coverage": round(result.coverage, 4),
            "degraded": bool(failed),
            "failed_components": failed,
            # which ranker ranked this page ("heuristic" until a model is promoted)
            "model_version": result.query.annotations.get("model_version"),
            # share of each source's candidate budget this request used (below 1: load shedding)
            "quality_factor": round(factor, 4),
            "user": {
                "cold_start": bool(result.query.feature("user.cold_start", False)),
                "communities": [
                    self.corpus.communities[int(c)] for c in result.query.feature("user.communities", [])
                ],
            },
        }
        if debug:
            body["trace"] = result.trace.as_dict()
        self._blend_ads(body, result, ad_context, debug)
        return body

    def _blend_ads(
        self, body: dict[str, Any], result: PipelineResult, ad_context: Mapping[str, str] | None, debug: bool
    ) -> None:
        slots = self.pipelines[result.trace.pipeline].components.get(AD_SLOTS)
        if self.ads is None or not isinstance(slots, AdSlotsSelector) or not slots.enabled(result.query):
            return
        if not body["items"]:  # no organic page, no ads (and no row column to read)
            body["ads"] = {"slots": 0, "served": 0, "degraded": False}
            return
        cpu0 = time.thread_time()
        try:
            rows = result.batch.column(ROW)[: len(body["items"])]
            self.ads.blend_into(
                body,
                rows,
                now=time.time(),
                params=slots.blend_params(result.query),
                context=ad_context,
                debug=debug,
            )
        except Exception as exc:  # the organic page never fails because of ads
            log.warning("ads: blending failed: %s", exc)
            body["ads"] = {"slots": 0, "served": 0, "degraded": True, "error": f"{type(exc).__name__}: {exc}"}
        finally:  # the ads decision and blend, on the ads team's line of `feedmix cost`
            COMPONENT_CPU.labels(result.trace.pipeline, AD_SLOTS, slots.owner).inc(time.thread_time() - cpu0)

    def items(self, result: PipelineResult, features: bool = False) -> list[dict[str, Any]]:
        """The response items; with ``features`` (debug requests), each item also carries the
        online feature values it was ranked with (``f.*`` columns, defaults included)."""
        batch, c = result.batch, self.corpus
        if len(batch) == 0:
            return []
        rows = batch.column(ROW)
        sources = batch.column("source")
        scores = batch.column("score")
        part_names = [n for n in batch.column_names if n.startswith("score.")]
        parts = {n[len("score.") :]: batch.column(n) for n in part_names}
        heads = {n[len("p.") :]: batch.column(n) for n in batch.column_names if n.startswith("p.")}
        age_h = (self.now - c.created[rows]) / 3600.0
        feature_values = (
            {n: batch.column(n).tolist() for n in batch.column_names if n.startswith("f.")}
            if features
            else {}
        )
        out = []
        for i, r in enumerate(rows.tolist()):
            out.append(
                {
                    "id": c.id_str[r],
                    "kind": "post",
                    "position": i,
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
            )
            if features:
                out[-1]["features"] = {k: v[i] for k, v in feature_values.items()}
        return out

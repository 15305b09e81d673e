"""Runs a surface's pipeline for a request and turns the result into the API's response.

The pipeline does the whole page: retrieval to ranking, the ads blend, and the scroll session's
record (a synchronous side effect), so this module only builds the query (params, cursor, context),
resolves the pipeline once, and shapes the response body around the items
(:mod:`feedmix.serving.response_rows`).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np

from feedmix.components.side_effects.session_record_side_effect import RECORDED
from feedmix.core.executor import PipelineExecutor, PipelineResult
from feedmix.core.pipeline import Pipeline
from feedmix.core.query import Deadline, Query
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.events.post_ids import post_id_to_int
from feedmix.products.viewer_params import viewer_params
from feedmix.serving.cursor import Cursor
from feedmix.serving.response_rows import ResponseRows
from feedmix.serving.shadow_runner import ShadowRunner
from feedmix.stores.errors import StoreUnavailable
from feedmix.stores.preference_store import PreferenceStore

log = logging.getLogger(__name__)

MAX_LIMIT = 100
#: what every API accepts as a user id
USER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
#: candidates one ranking request may bring
MAX_RANK = 1000
#: request context keys ad targeting may read (``geo``, ``device``), each cut to this many characters
AD_CONTEXT_KEYS = ("geo", "device")


class UnknownCommunity(LookupError):
    pass


class FeedService:
    def __init__(
        self,
        pipelines: Mapping[str, Pipeline],
        executor: PipelineExecutor,
        corpus: RedditCorpus,
        now: float | None = None,
        shadows: ShadowRunner | None = None,
        preferences: PreferenceStore | None = None,
    ) -> None:
        self.pipelines = dict(pipelines)
        #: viewers' stored settings, applied to every feed as params (REST, GraphQL and gRPC alike)
        self.preferences = preferences
        #: reruns a sample of served requests under candidate configs, after the response exists
        self.shadows = shadows
        self.executor = executor
        self.corpus = corpus
        self.now = corpus.now if now is None else now
        self.rows = ResponseRows(corpus, self.now)

    def query(
        self,
        pipeline: str | Pipeline,
        user_id: str,
        limit: int = 25,
        cursor: Cursor | None = None,
        debug: bool = False,
        overrides: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> Query:
        """Build the query; raises ``ParamError`` for a bad override before anything runs. A given
        ``request_id`` repeats a request's random draws (exploration), which a comparison needs."""
        p = self.pipelines[pipeline] if isinstance(pipeline, str) else pipeline
        params = p.params(overrides)
        cur = cursor or Cursor.new()
        ctx = {"session_id": cur.session_id, "page": cur.page, **(context or {})}
        return Query(
            user_id=user_id,
            surface=p.surface,
            params=params,
            deadline=Deadline.from_ms(float(params["pipeline.deadline_ms"])),
            request_id=request_id or uuid.uuid4().hex[:16],
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
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """One page. ``ad_context`` (``geo``, ``device``) is what ad targeting may use beyond the page."""
        context: dict[str, Any] = {k: v for k, v in (ad_context or {}).items() if k in AD_CONTEXT_KEYS}
        if community is not None:
            if self.corpus.community_id(community) is None:
                raise UnknownCommunity(community)
            context["community"] = community
        p = self.pipelines[pipeline]
        cur = cursor or Cursor.new()
        stored, preferences_failed = self._viewer_params(p, user_id)
        query = self.query(
            p, user_id, limit, cur, debug, {**stored, **(overrides or {})}, context, request_id
        )
        result = self.executor.run(p, query)
        # without the session's record, page 2 could repeat page 1: no cursor then
        recorded = bool(result.query.annotations.get(RECORDED))
        body: dict[str, Any] = {
            "request_id": query.request_id,
            "user_id": user_id,
            "surface": query.surface,
            "items": self.rows.items(result, features=debug),
            "next_cursor": cur.next().encode() if recorded else None,
            "coverage": round(result.coverage, 4),
            "degraded": result.degraded or preferences_failed,
            "failed_components": [*result.failed_components, *(["viewer_preferences"] * preferences_failed)],
            # which ranker ranked this page ("heuristic" until a model is promoted)
            "model_version": result.query.annotations.get("model_version"),
            # the experiments and variants this request was in (their params ranked this page)
            "experiments": result.query.annotations.get("experiments", []),
            # share of each source's candidate budget this request used (below 1: load shedding)
            "quality_factor": round(result.quality_factor, 4),
            "user": {
                "cold_start": bool(result.query.feature("user.cold_start", False)),
                "communities": [
                    self.corpus.communities[int(c)] for c in result.query.feature("user.communities", [])
                ],
            },
        }
        ads = _ads_summary(p, result)
        if ads is not None:
            body["ads"] = ads
        suggested = result.query.feature("feed.suggested_communities")
        if suggested is not None:  # a surface that suggests communities to join (discovery)
            body["suggested_communities"] = [self.corpus.communities[int(c)] for c in suggested]
        if debug:
            body["trace"] = result.trace.as_dict()
        if self.shadows is not None:
            self.shadows.submit(pipeline, result)  # a queue put; the shadows run on their own thread
        return body

    def rank(
        self,
        pipeline: str,
        user_id: str,
        post_ids: list[str],
        overrides: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A caller's candidates ranked by a ranking pipeline (``home_rank``): best first, with each
        one's score parts and head predictions; ids not in the corpus and posts a viewer filter removed
        are listed apart, so the caller knows what happened to every id it sent."""
        from feedmix.components.sources.given_posts_source import CONTEXT_KEY

        keys = np.array([_post_number(pid) for pid in post_ids], dtype=np.int64)
        rows = self.corpus.rows_of(keys)
        known = rows >= 0
        unknown = [pid for pid, ok in zip(post_ids, known, strict=True) if not ok]
        asked = np.unique(rows[known])
        p = self.pipelines[pipeline]
        stored, preferences_failed = self._viewer_params(p, user_id)
        query = self.query(
            p,
            user_id,
            max(len(asked), 1),
            None,
            False,
            {**stored, **(overrides or {})},
            {CONTEXT_KEY: asked},
        )
        result = self.executor.run(p, query)
        items = self.rows.items(result) if len(result.batch) else []
        ranked = {it["id"] for it in items}
        c = self.corpus
        filtered = [c.id_str[r] for r in asked.tolist() if c.id_str[r] not in ranked]
        return {
            "request_id": query.request_id,
            "posts": [
                {
                    "post_id": it["id"],
                    "rank": i,
                    "score": it["score"],
                    "score_parts": it["score_parts"],
                    "predictions": it["predictions"],
                }
                for i, it in enumerate(items)
            ],
            "unknown_post_ids": unknown,
            "filtered_post_ids": filtered,
            "coverage": round(result.coverage, 4),
            "degraded": result.degraded or preferences_failed,
            "failed_components": [*result.failed_components, *(["viewer_preferences"] * preferences_failed)],
            "model_version": result.query.annotations.get("model_version"),
        }

    def _viewer_params(self, pipeline: Pipeline, user_id: str) -> tuple[dict[str, str], bool]:
        """The viewer's stored preferences as the params this pipeline declares, and whether reading
        them failed: a preference store that is down serves the feed without them (fail open), and
        the response says so."""
        if self.preferences is None:
            return {}, False
        try:
            prefs = self.preferences.get(user_id)
        except StoreUnavailable:
            log.warning("preference store unavailable: serving %s without their preferences", user_id)
            return {}, True
        declared = pipeline.param_registry
        return {k: v for k, v in viewer_params(prefs).items() if k in declared}, False

    def items(self, result: PipelineResult, features: bool = False) -> list[dict[str, Any]]:
        return self.rows.items(result, features)


def _post_number(post_id: str) -> int:
    """A post id's number, -1 for anything that is not a canonical post id (never raises)."""
    try:
        return post_id_to_int(post_id)
    except ValueError:
        return -1


def _ads_summary(pipeline: Pipeline, result: PipelineResult) -> dict[str, Any] | None:
    """The response's ``ads`` block: the ads blender's summary; an empty page (no blender call) had no
    slots; a pipeline without an enabled ads blender has none."""
    summary = result.query.annotations.get("ads")
    if summary is not None:
        return dict(summary)
    blending = any(b.owner == "ads" and b.enabled(result.query) for b in pipeline.blenders)
    if blending and len(result.batch) == 0:
        return {"slots": 0, "served": 0, "degraded": False}
    return None

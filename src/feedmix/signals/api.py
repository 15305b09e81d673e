"""The signals API: ``POST /v1/posts`` (new posts in, durable, labelled within seconds),
``GET /v1/posts/{id}/signals`` (a post's current values and the tier that produced them),
``GET /v1/signals`` and ``GET /v1/signals/{name}`` (the registry), ``GET /v1/signals/stream`` (how far
each labelling pass is behind)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, HTTPException

from feedmix.events.event_log import EventLog, EventLogUnavailable
from feedmix.signals import registry
from feedmix.signals.insights import community_insights
from feedmix.signals.new_post import NewPost, PostBatch, to_log
from feedmix.signals.post_signal_table import PostSignalTable
from feedmix.signals.streaming_labeller import StreamingLabeller


def signals_router(
    posts_log: EventLog[NewPost] | None,
    streamer: StreamingLabeller | None,
    state_dir: Path,
    clock: Callable[[], float] = time.time,
    corpus: Callable[
        [],
        tuple[PostSignalTable, Callable[[str], npt.NDArray[np.int64] | None], npt.NDArray[np.float64]] | None,
    ]
    | None = None,
) -> APIRouter:
    """``corpus`` gives the served corpus' signal table, a community name -> rows lookup and the posts'
    creation times (None while the table is not ready): what the insights endpoint reads."""
    router = APIRouter(tags=["signals"])

    @router.post("/v1/posts", status_code=202)
    def ingest_posts(batch: PostBatch) -> dict[str, Any]:
        """Store the posts (all or none, idempotent by id); each is labelled by the streaming pass."""
        if posts_log is None:
            raise HTTPException(503, "post ingestion is off ([signals] enabled = false)")
        now = clock()
        try:
            result = posts_log.append([to_log(p, now) for p in batch.posts])
        except EventLogUnavailable as e:
            raise HTTPException(503, f"the posts log is unavailable: {e}") from None
        return {"accepted": result.accepted, "duplicates": result.duplicates}

    @router.get("/v1/posts/{post_id}/signals")
    def post_signals(post_id: str) -> dict[str, Any]:
        found = streamer.signals_of(post_id) if streamer is not None else None
        if found is None:
            raise HTTPException(404, f"no signals for post {post_id!r} (not ingested, or not labelled yet)")
        return found

    @router.get("/v1/signals")
    def list_signals() -> list[dict[str, Any]]:
        out = []
        for d in registry.DEFINITIONS:
            info = registry.describe(d.name, state_dir)
            out.append(
                {
                    "name": d.name,
                    "version": d.version,
                    "status": d.status,
                    "owner": d.owner,
                    "producer": info["producer"],
                    "slo_status": info["slo_status"],
                }
            )
        return out

    @router.get("/v1/signals/stream")
    def stream_status() -> dict[str, Any]:
        if streamer is None:
            return {"enabled": False}
        return {"enabled": True, "lag": streamer.lag(), "tiers": [p.tier for p in streamer.passes]}

    @router.get("/v1/signals/insights")
    def insights(community: str, period: str = "month", top: int = 10) -> dict[str, Any]:
        """A community's intent and category mix and its most mentioned products, per period."""
        source = corpus() if corpus is not None else None
        if source is None:
            raise HTTPException(503, "the corpus' signals are not ready (labelling or not configured)")
        table, rows_of, created = source
        rows = rows_of(community)
        if rows is None:
            raise HTTPException(404, f"unknown community {community!r}")
        try:
            out = community_insights(table, rows, created, period, max(1, min(top, 100)))
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        return {"community": community, **out}

    @router.get("/v1/signals/{name}")
    def show_signal(name: str) -> dict[str, Any]:
        try:
            return registry.describe(name, state_dir)
        except KeyError as e:
            raise HTTPException(404, str(e.args[0])) from None

    return router

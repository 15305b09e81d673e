"""The signals API: ``POST /v1/posts`` (new posts in, durable, labelled within seconds),
``GET /v1/posts/{id}/signals`` (a post's current values and the tier that produced them),
``GET /v1/signals`` and ``GET /v1/signals/{name}`` (the registry), ``GET /v1/signals/stream`` (how far
each labelling pass is behind)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, HTTPException

from feedmix.events.event_log import EventLog, EventLogUnavailable
from feedmix.signals import registry
from feedmix.signals.codebook import BRAND_SAFETY, CATEGORIES, INTENTS, SENTIMENTS
from feedmix.signals.insights import community_insights
from feedmix.signals.new_post import NewPost, PostBatch, to_log
from feedmix.signals.post_signal_table import PostSignalTable
from feedmix.signals.streaming_labeller import StreamingLabeller


@dataclass(frozen=True)
class CorpusView:
    """The served corpus seen through its signals (built by the serving layer, which owns the corpus)."""

    table: PostSignalTable
    community_rows: Callable[[str], npt.NDArray[np.int64] | None]
    created: npt.NDArray[np.float64]
    post_row: Callable[[str], int | None]

    def record(self, post_id: str, row: int) -> dict[str, Any]:
        t = self.table
        category = int(t.category[row])
        safety = int(t.safety[row])
        return {
            "id": post_id,
            "intent": INTENTS[int(t.intent[row])],
            "category": CATEGORIES[category] if category >= 0 else None,
            "commercial": category >= 0,
            "sentiment": SENTIMENTS[int(t.sentiment[row])] if t.sentiment[row] >= 0 else None,
            "brand_safety": BRAND_SAFETY[safety] if safety >= 0 else "unrated",
            "products": [{"text": name, "brand": None} for name in t.products[row]],
            "model_version": t.model_version,
            "tier": "corpus",
            "gate": "ok",
        }


def signals_router(
    posts_log: EventLog[NewPost] | None,
    streamer: StreamingLabeller | None,
    state_dir: Path,
    clock: Callable[[], float] = time.time,
    corpus: Callable[[], CorpusView | None] | None = None,
) -> APIRouter:
    """``corpus`` gives the served corpus' signals (None while they are not ready): what the insights
    endpoint reads, and where a corpus post's signals are found."""
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
    def post_signals(post_id: str, wait: float = 0.0) -> dict[str, Any]:
        """A streamed post's full values, else a corpus post's decisions from the corpus' signals.
        ``wait`` (seconds, at most 10): hold the answer until the streaming pass has labelled the post,
        so a client that just sent it needs no polling loop."""
        deadline = time.monotonic() + max(0.0, min(wait, 10.0))
        found = streamer.signals_of(post_id) if streamer is not None else None
        while found is None and streamer is not None and time.monotonic() < deadline:
            time.sleep(0.05)
            found = streamer.signals_of(post_id)
        if found is not None:
            return found
        view = corpus() if corpus is not None else None
        row = view.post_row(post_id) if view is not None else None
        if view is None or row is None or view.table.intent[row] < 0:
            raise HTTPException(404, f"no signals for post {post_id!r} (not ingested, or not labelled yet)")
        record: dict[str, Any] = view.record(post_id, row)
        return record

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
        rows = source.community_rows(community)
        if rows is None:
            raise HTTPException(404, f"unknown community {community!r}")
        try:
            out = community_insights(source.table, rows, source.created, period, max(1, min(top, 100)))
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

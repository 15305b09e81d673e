"""Two param sets for the same user, side by side (``POST /v1/compare``, the console's compare page):
both pages are ranked now from the same state, and how far apart they are is measured as the shadows
measure it (rank-biased overlap, Jaccard@10, Kendall tau on the shared posts).

A comparison is a look, not traffic: every side effect of the pipeline is switched off for both runs
(no scroll session, exposure, served-feature or request-stats record), so comparing never changes
what a user is shown next or what an experiment counts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from feedmix.serving.feed_service import FeedService
from feedmix.shadow.rank_agreement import jaccard_at, kendall_tau_shared, rbo


def compare(
    feeds: FeedService,
    pipeline: str,
    user_id: str,
    limit: int,
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    community: str | None = None,
) -> dict[str, Any]:
    quiet = {f"{s.identifier}.enabled": False for s in feeds.pipelines[pipeline].side_effects}
    # one request id for both: the same random draws (exploration), so only the params differ
    request_id = "cmp" + uuid.uuid4().hex[:13]
    pages = {
        name: feeds.feed(
            pipeline,
            user_id,
            limit,
            None,
            False,
            {**quiet, **params},
            community=community,
            request_id=request_id,
        )
        for name, params in (("a", a), ("b", b))
    }
    ids = {name: [it["id"] for it in page["items"] if it["kind"] == "post"] for name, page in pages.items()}
    agreement = rbo(ids["a"], ids["b"])
    return {
        "user_id": user_id,
        "surface": pages["a"]["surface"],
        "a": {"params": dict(a), **_page(pages["a"])},
        "b": {"params": dict(b), **_page(pages["b"])},
        "rbo": None if agreement is None else round(agreement.ext, 4),
        "jaccard_at_10": jaccard_at(ids["a"], ids["b"], 10),
        "kendall_tau_shared": kendall_tau_shared(ids["a"], ids["b"]),
        "shared": len(set(ids["a"]) & set(ids["b"])),
    }


def _page(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "items": body["items"],
        "degraded": body["degraded"],
        "failed_components": body["failed_components"],
        "model_version": body.get("model_version"),
    }

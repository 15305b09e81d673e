"""Shared by the feature-store serving tests: a runtime on the demo corpus and event helpers."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import REGISTRY

from feedmix.config import FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.events.schema import Event, EventBatch
from feedmix.serving.runtime import Runtime

_COUNTS = ("impressions", "clicks", "upvotes", "hides", "comments")
#: every column the home and community feeds hydrate from the online store (52: see definitions)
FEATURE_COLUMNS = {
    *(f"f.{kind}_{w}" for kind in (*_COUNTS, "ctr") for w in ("1h", "24h", "7d")),
    *(f"f.community.{kind}_{w}" for kind in (*_COUNTS, "ctr") for w in ("24h", "7d")),
    *(f"f.user.{kind}_{w}" for kind in (*_COUNTS, "ctr") for w in ("24h", "7d")),
    *(f"f.user_community.{kind}_{w}" for kind in (*_COUNTS[:4], "ctr") for w in ("24h", "7d")),
}


def build_runtime(
    tmp_path: Path, corpus: RedditCorpus, feature_timeout_ms: float | None = 2000.0, **config: Any
) -> Runtime:
    """A runtime whose flusher only runs when a test calls it (unless the test sets an interval).

    ``feature_timeout_ms`` sets ``online_features.timeout_ms`` in both feeds: generous by default,
    so a busy test machine does not turn a healthy Redis read into a fallback; None keeps 50 ms.
    """
    params = {} if feature_timeout_ms is None else {"online_features.timeout_ms": feature_timeout_ms}
    cfg: dict[str, Any] = {
        "state_dir": str(tmp_path),
        "users": 50,
        "event_log": "memory://",
        "feature_flush_interval_s": 3600.0,
        "pipeline_params": {"home": dict(params), "community": dict(params)},
        **config,
    }
    return Runtime.build(FeedmixConfig(**cfg), corpus=corpus)


def engage(rt: Runtime, user: str, post_ids: list[str], kinds: tuple[str, ...] = ("impression",)) -> None:
    events = [
        Event(event_id=uuid.uuid4().hex, type=kind, user_id=user, post_id=post)  # type: ignore[arg-type]
        for post in post_ids
        for kind in kinds
    ]
    rt.ingestor.ingest(EventBatch(events=events), now=time.time())


def biggest_community(corpus: RedditCorpus) -> str:
    return corpus.communities[int(np.argmax(corpus.post_counts()))]


def component_trace(body: dict[str, Any], component: str) -> dict[str, Any]:
    for stage in body["trace"]["stages"]:
        for c in stage["components"]:
            if c["component"] == component:
                return dict(c)
    raise KeyError(component)


def by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {it["id"]: it for it in body["items"]}


def missing_total(entity: str, feature: str) -> float:
    labels = {"entity": entity, "feature": feature}
    return REGISTRY.get_sample_value("feedmix_feature_missing_total", labels) or 0.0

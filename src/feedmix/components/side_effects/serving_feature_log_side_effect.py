"""Logs the feature values a feed response was ranked with, for a sample of requests.

Training on what serving saw (instead of recomputing it) removes training/serving skew; see
``features.offline.logged_join``. Runs as a side effect, after the response exists, so it costs
the request nothing; the sink buffers and writes Parquet in the background.

Sampling is per request, not per item: a sampled response is logged whole, so listwise training
and position analyses see complete pages. The decision is a keyed hash of ``request_id``, not a
random draw: a replayed request (a retry, a backfill, a debugging rerun) is sampled the same way,
and a second component sampling by ``request_id`` with another key is independent of this one.
Each row carries the ``sample_rate`` it was sampled at, so training can weight rows by its inverse
when the rate changes over time or is overridden per request (``p.<id>.sample_rate=1``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from feedmix.core.components import SideEffect
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.events.post_ids import ints_to_post_ids
from feedmix.features.offline.served_log import ServedFeatureLog

log = logging.getLogger(__name__)

#: columns every logged row has; candidate columns with these names are not logged
FIXED_COLUMNS = (
    "request_id",
    "user_id",
    "post_id",
    "position",
    "page",
    "ts",
    "query_now",
    "surface",
    "pipeline",
    "model_version",
    "propensity",
    "sample_rate",
)
DEFAULT_COLUMNS = ("score", "score.*")
_HASH_KEY = b"served-features"


def sampled(request_id: str, rate: float, key: bytes = _HASH_KEY) -> bool:
    """Whether ``request_id`` falls in a ``rate`` sample: a keyed 64-bit hash mapped to [0, 1)."""
    if rate <= 0.0:
        return False
    digest = hashlib.blake2b(request_id.encode(), digest_size=8, key=key).digest()
    return int.from_bytes(digest, "big") / 2.0**64 < rate


class ServingFeatureLogSideEffect(SideEffect):
    """Writes one row per served item of a sampled request to a ``ServedFeatureLog``.

    Options: ``columns``, candidate column names or glob patterns (``f.*``, ``score.*``) logged
    where the batch has them (absent ones are skipped: a failed hydrator must not stop the log);
    ``model_version``, written on every row (default: what the ranker reported in
    ``query.annotations``, else the scorers that ran, joined by ``+``); ``propensity`` is the
    batch's column of that name (the probability the exploration policy showed the item there),
    1.0 where the batch has none (a deterministic ranking);
    ``clock``, the wall clock of ``ts`` (the events' time base, unlike ``query.now``, which can be
    the corpus clock).
    """

    PARAMS = (
        ParamSpec(
            "sample_rate",
            float,
            0.1,
            "share of requests whose served items and feature values are logged",
            min=0.0,
            max=1.0,
        ),
    )

    @classmethod
    def from_deps(cls, identifier: str, deps: Any, **options: Any) -> ServingFeatureLogSideEffect:
        if deps.served_feature_log is None:
            raise ValueError("needs the dependency 'served_feature_log', which this process did not wire")
        return cls(identifier, deps.served_feature_log, **options)

    def __init__(
        self,
        identifier: str,
        sink: ServedFeatureLog,
        columns: Sequence[str] = DEFAULT_COLUMNS,
        model_version: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(identifier)
        clash = sorted(set(columns) & set(FIXED_COLUMNS))
        if clash:
            raise ValueError(f"columns {clash} clash with the fixed columns of the served-feature log")
        self.sink = sink
        self.columns = tuple(columns)
        self.reads = self.columns
        self.model_version = model_version
        self.clock = clock

    def run(self, query: Query, result: Any) -> None:
        rate = float(self.param(query, "sample_rate"))
        batch = result.page  # the pipeline's own items, not the ads blended in
        if len(batch) == 0 or not sampled(query.request_id, rate):
            return
        n = len(batch)
        page = query.context.get("page")
        rows: dict[str, Any] = {
            "request_id": [query.request_id] * n,
            "user_id": [query.user_id] * n,
            "post_id": ints_to_post_ids(batch.ids),
            "position": np.arange(n, dtype=np.int32),
            "page": np.full(n, page if isinstance(page, int) else -1, dtype=np.int32),
            "ts": np.full(n, float(self.clock())),
            "query_now": np.full(n, float(query.now)),
            "surface": [query.surface] * n,
            "pipeline": [result.trace.pipeline] * n,
            "model_version": [self._model_version(query, result)] * n,
            "propensity": (
                batch.column("propensity").astype(np.float64)
                if batch.has("propensity")
                else np.ones(n, dtype=np.float64)
            ),
            "sample_rate": np.full(n, rate),
        }
        for name in self.matching_columns(batch.column_names):
            values = batch.column(name)
            if values.ndim != 1:
                log.debug("%s: column %s is not one-dimensional, not logged", self.identifier, name)
                continue
            rows[name] = values
        self.sink.append(rows)

    def matching_columns(self, available: Sequence[str]) -> list[str]:
        """Batch columns to log, in the order of ``columns``, each once."""
        out: list[str] = []
        for pattern in self.columns:
            for name in available:
                if name not in out and name not in FIXED_COLUMNS and fnmatch.fnmatchcase(name, pattern):
                    out.append(name)
        return out

    def _model_version(self, query: Query, result: Any) -> str:
        if self.model_version is not None:
            return self.model_version
        reported = query.annotations.get("model_version")
        if isinstance(reported, str):
            return reported
        scorers = [
            c.component
            for s in result.trace.stages
            if s.stage == "scorers"
            for c in s.components
            if c.status == "ok"
        ]
        return "+".join(scorers)

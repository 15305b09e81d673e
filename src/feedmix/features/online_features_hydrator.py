"""Online features for every candidate, from the online store, in one read.

Which entity's features a candidate gets, and by which key:

* ``post`` (default): the candidate's own id, as its base36 key; columns ``f.<name>``.
* ``community``: the candidate's ``community`` column; columns ``f.community.<name>``.
* ``user``: the requesting user, the same for every candidate; columns ``f.user.<name>``.
* ``user_community``: the requesting user with the candidate's community; columns
  ``f.user_community.<name>``.

Community-keyed entities read each distinct community once and broadcast. Store trouble never
fails the request: when the store is unavailable (down, or slower than its ``timeout_ms``) or the
request deadline has already passed, the hydrator raises ``Fallback`` with every feature at its
default, so ranking goes on and the response reports the component as degraded. The Redis
client reconnects on its own, so the next request after Redis returns reads real values again.

Metrics: ``feedmix_feature_missing_total{entity,feature}`` counts candidates that got a default
because the value was absent (unknown key, expired row, feature never written), one increment per
feature per read; ``feedmix_feature_read_failures_total{entity}`` counts reads that fell back
(those defaults are not also counted as missing, so the two signals stay distinguishable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from prometheus_client import Counter

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import CandidateHydrator, Fallback
from feedmix.core.query import Query
from feedmix.features.entity_keys import KeyArray, community_keys, post_keys, user_community_keys
from feedmix.features.entity_schema import EntitySchema
from feedmix.features.online_store import OnlineStore
from feedmix.stores.errors import StoreUnavailable

FEATURE_MISSING = Counter(
    "feedmix_feature_missing_total",
    "Candidate feature values served as the default because the store had none",
    ["entity", "feature"],
)
FEATURE_READ_FAILURES = Counter(
    "feedmix_feature_read_failures_total",
    "Online feature reads that fell back to defaults (store unavailable or no time left)",
    ["entity"],
)

COMMUNITY_COLUMN = "community"


class OnlineFeaturesHydrator(CandidateHydrator):
    def __init__(
        self,
        identifier: str,
        store: OnlineStore,
        *,
        entity: str = "post",
        features: Sequence[str] | None = None,
        community_names: Sequence[str] | None = None,
        community_column: str = COMMUNITY_COLUMN,
    ) -> None:
        """``features`` defaults to all of the entity's; ``community_names`` (index -> name) makes
        community keys names rather than indexes, and must match what the aggregator writes."""
        super().__init__(identifier)
        self.store = store
        self.entity = entity
        self._schema = EntitySchema(store.registry, entity)
        self.features = list(features) if features is not None else list(self._schema.names)
        self._schema.check_names(self.features)
        self.community_names = community_names
        self.community_column = community_column
        prefix = "f." if entity == "post" else f"f.{entity}."
        self.column_names = {name: prefix + name for name in self.features}
        # a network store is waited on from the pool, an in-process one read on the request thread
        self.inline = not store.remote
        self._missing = [FEATURE_MISSING.labels(entity, name) for name in self.features]
        self._failures = FEATURE_READ_FAILURES.labels(entity)

    def hydrate(self, query: Query, batch: CandidateBatch) -> Mapping[str, npt.ArrayLike]:
        n = len(batch)
        if n == 0:
            return self._defaults(0)
        keys, expand = self._keys(query, batch)
        if query.deadline.expired():
            self._failures.inc()
            raise Fallback(self._defaults(n), "request deadline passed before the feature read")
        try:
            got = self.store.read(self.entity, keys, self.features)
        except StoreUnavailable as exc:
            self._failures.inc()
            raise Fallback(self._defaults(n), f"online feature store unavailable: {exc}") from exc
        unset = got.unset if expand is None else got.unset[expand]
        for child, count in zip(self._missing, unset.sum(axis=0).tolist(), strict=True):
            if count:
                child.inc(count)
        return {
            self.column_names[name]: got.columns[name] if expand is None else got.columns[name][expand]
            for name in self.features
        }

    def _keys(self, query: Query, batch: CandidateBatch) -> tuple[KeyArray, npt.NDArray[np.intp] | None]:
        """The keys to read and, when they are fewer than the candidates, each candidate's key."""
        if self.entity == "post":
            return post_keys(batch.ids), None
        if self.entity == "user":
            return np.array([query.user_id.encode()]), np.zeros(len(batch), dtype=np.intp)
        communities = np.asarray(batch.column(self.community_column), dtype=np.int64)
        distinct, expand = np.unique(communities, return_inverse=True)
        keys = community_keys(distinct, self.community_names)
        if self.entity == "user_community":
            keys = user_community_keys(query.user_id, keys)
        return keys, expand.astype(np.intp)

    def _defaults(self, n: int) -> dict[str, npt.NDArray[Any]]:
        return {
            self.column_names[name]: np.full(n, self._schema.default_value(name)) for name in self.features
        }

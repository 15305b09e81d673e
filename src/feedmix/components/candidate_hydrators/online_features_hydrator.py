"""Online features for every candidate, from the online store, in one read.

Which entity's features a candidate gets, and by which key:

* ``post`` (default): the candidate's own id, as its base36 key; columns ``f.<name>``.
* ``community``: the candidate's ``community`` column; columns ``f.community.<name>``.
* ``user``: the requesting user, the same for every candidate; columns ``f.user.<name>``.
* ``user_community``: the requesting user with the candidate's community; columns
  ``f.user_community.<name>``.

One hydrator may serve several entities (``entities=["post", "community", "user_community"]``):
their rows are fetched together with ``read_entities``, which the Redis store answers with one
MGET, so a request pays one round trip for all of its online features. Community-keyed entities
read each distinct community once and broadcast.

Store trouble never fails the request: when the store is unavailable (down, or slower than the
time this read may take) or the request deadline has already passed, the hydrator raises
``Fallback`` with every feature at its default, so ranking goes on and the response reports the
component as degraded. The Redis client reconnects on its own, so the next request after Redis
returns reads real values again.

Time: the read may take this component's ``timeout_ms`` (50 ms by default, 0 = no own limit) and
never more than the time left to the request; the bound is handed to the store as its reply
timeout (a network store never waits longer than its socket timeout either). So a stalled Redis
costs a request at most ``timeout_ms`` and leaves the rest of the deadline to filters and
ranking, whatever the store URL's ``timeout_ms`` says. (Opening a new connection is bounded by
the URL's ``connect_timeout_ms`` instead; a refused one fails at once.)

The hydrator enforces its timeout itself rather than leaving it to the executor: an executor
timeout abandons a component and its columns, while a read that runs out of time here still
answers the defaults.

Metrics: ``feedmix_feature_missing_total{entity,feature}`` counts candidates that got a default
because the value was absent (unknown key, expired row, feature never written), one increment per
feature per read; ``feedmix_feature_read_failures_total{entity}`` counts reads that fell back
(those defaults are not also counted as missing, so the two signals stay distinguishable).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from prometheus_client import Counter

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import CandidateHydrator, Fallback
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.features.entity_keys import (
    KeyArray,
    community_keys,
    community_name_table,
    post_keys,
    user_community_keys,
)
from feedmix.features.entity_schema import EntitySchema
from feedmix.features.feature_columns import feature_column
from feedmix.features.online_store import OnlineStore, read_entities
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
#: the default of ``<id>.timeout_ms``: the Redis store's default socket timeout
DEFAULT_TIMEOUT_MS = 50.0


class OnlineFeaturesHydrator(CandidateHydrator):
    @classmethod
    def from_deps(cls, identifier: str, deps: Any, **options: Any) -> OnlineFeaturesHydrator:
        if deps.online_store is None:
            raise ValueError("needs the dependency 'online_store', which this process did not wire")
        return cls(identifier, deps.online_store, community_names=deps.corpus.communities, **options)

    def __init__(
        self,
        identifier: str,
        store: OnlineStore,
        *,
        entity: str | None = None,
        entities: Sequence[str] | None = None,
        features: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
        community_names: Sequence[str] | None = None,
        community_column: str = COMMUNITY_COLUMN,
    ) -> None:
        """``entity`` (one) or ``entities`` (several, read together; default: ``post``).

        ``features``: for one entity, a list of its feature names; for several, a mapping from
        entity to names; an entity not named gets all of its features. ``community_names``
        (index -> name) makes community keys names rather than indexes, and must match what the
        aggregator writes.
        """
        super().__init__(identifier)
        if entity is not None and entities is not None:
            raise ValueError("give entity or entities, not both")
        chosen = [entity] if entity is not None else list(entities or ("post",))
        if not chosen or len(set(chosen)) != len(chosen):
            raise ValueError(f"entities must be distinct and not empty, got {chosen}")
        if features is not None and not isinstance(features, Mapping):
            if len(chosen) != 1:
                raise ValueError("with several entities, features must map entity -> names")
            features = {chosen[0]: features}
        unknown = set(features or {}) - set(chosen)
        if unknown:
            raise ValueError(f"features are given for entities not hydrated here: {sorted(unknown)}")
        self.store = store
        self.entities = chosen
        self._schemas = {e: EntitySchema(store.registry, e) for e in chosen}
        self.features_by_entity: dict[str, list[str]] = {}
        for e, schema in self._schemas.items():
            names = list((features or {}).get(e, schema.names))
            schema.check_names(names)
            self.features_by_entity[e] = names
        self.community_names = community_names
        self._community_table = None if community_names is None else community_name_table(community_names)
        self.community_column = community_column
        self.column_names = {
            e: {name: feature_column(e, name) for name in names}
            for e, names in self.features_by_entity.items()
        }
        self.writes = tuple(c for cols in self.column_names.values() for c in cols.values())
        if any(e in ("community", "user_community") for e in chosen):
            self.reads = (community_column,)
        # a network store is waited on from the pool, an in-process one read on the request thread
        self.inline = not store.remote
        self._missing = {
            e: [FEATURE_MISSING.labels(e, n) for n in names] for e, names in self.features_by_entity.items()
        }
        self._failures = [FEATURE_READ_FAILURES.labels(e) for e in chosen]

    @property
    def entity(self) -> str:
        """The first (with one entity, the only) entity hydrated."""
        return self.entities[0]

    @property
    def features(self) -> list[str]:
        """The feature names of ``entity`` (all entities': ``features_by_entity``)."""
        return self.features_by_entity[self.entity]

    def declared_params(self) -> list[ParamSpec]:
        """The framework's params, with ``timeout_ms`` defaulting to ``DEFAULT_TIMEOUT_MS``."""
        own = f"{self.identifier}.timeout_ms"
        return [
            dataclasses.replace(spec, default=DEFAULT_TIMEOUT_MS) if spec.name == own else spec
            for spec in super().declared_params()
        ]

    def timeout_s(self, query: Query) -> float | None:
        """None for the executor: ``timeout_ms`` bounds the store read here (see the module doc)."""
        return None

    def hydrate(self, query: Query, batch: CandidateBatch) -> Mapping[str, npt.ArrayLike]:
        n = len(batch)
        if n == 0:
            return self._defaults(0)
        shared: dict[str, Any] = {}
        plans = [(e, *self._keys(e, query, batch, shared)) for e in self.entities]
        budget = query.deadline.remaining_s()
        own_ms = float(query.params.get(f"{self.identifier}.timeout_ms") or 0.0)
        if own_ms > 0:
            budget = min(budget, own_ms / 1000.0)
        if budget <= 0.0:
            self._failed()
            raise Fallback(self._defaults(n), "request deadline passed before the feature read")
        try:
            reads = read_entities(
                self.store, [(e, keys, self.features_by_entity[e]) for e, keys, _ in plans], timeout_s=budget
            )
        except StoreUnavailable as exc:
            self._failed()
            raise Fallback(self._defaults(n), f"online feature store unavailable: {exc}") from exc
        out: dict[str, npt.ArrayLike] = {}
        for (e, _, expand), got in zip(plans, reads, strict=True):
            unset = got.unset if expand is None else got.unset[expand]
            for child, count in zip(self._missing[e], unset.sum(axis=0).tolist(), strict=True):
                if count:
                    child.inc(count)
            for name in self.features_by_entity[e]:
                col = got.columns[name]
                out[self.column_names[e][name]] = col if expand is None else col[expand]
        return out

    def _failed(self) -> None:
        for child in self._failures:
            child.inc()

    def _keys(
        self, entity: str, query: Query, batch: CandidateBatch, shared: dict[str, Any]
    ) -> tuple[KeyArray, npt.NDArray[np.intp] | None]:
        """The keys to read and, when they are fewer than the candidates, each candidate's key.

        ``shared`` carries the distinct communities from one entity to the next within a call.
        """
        if entity == "post":
            return post_keys(batch.ids), None
        if entity == "user":
            return np.array([query.user_id.encode()]), np.zeros(len(batch), dtype=np.intp)
        if "communities" not in shared:
            communities = np.asarray(batch.column(self.community_column), dtype=np.int64)
            distinct, expand = np.unique(communities, return_inverse=True)
            shared["communities"] = (community_keys(distinct, self._community_table), expand.astype(np.intp))
        keys, expand = shared["communities"]
        if entity == "user_community":
            keys = user_community_keys(query.user_id, keys)
        return keys, expand

    def _defaults(self, n: int) -> dict[str, npt.NDArray[Any]]:
        return {
            self.column_names[e][name]: np.full(n, self._schemas[e].default_value(name))
            for e, names in self.features_by_entity.items()
            for name in names
        }

"""The online feature store: feature rows per entity key, read for a whole candidate batch at once.

Two backends pass the same contract tests (``tests/features/test_online_store_contract.py``):
in-process (``memory://``, the default) and Redis. Both keep one row per entity key holding all of
that entity's features; a write may carry only some features and leaves the others as they were;
a row expires as a whole ``EntitySchema.ttl_s`` after its last write (the smallest ``ttl_s`` of
the entity's features). Reads never fail for absent data: unknown keys, expired rows and features
never written come back as their defaults and are flagged in ``FeatureRead.missing``/``unset``.
Backend failures raise ``StoreUnavailable`` so callers fail open with one ``except``.

Keys are the entity keys of :mod:`feedmix.features.entity_keys`: a list of str or a numpy str or
bytes array (the cheap form for large batches). They must not contain ``{`` or ``}`` (the Redis
backend uses them for cluster hash tags); a ``user_community`` key is ``"<user>|<community>"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from feedmix.features.entity_keys import COMPOSITE_SEPARATOR, KeyArray, as_key_array
from feedmix.features.entity_schema import FeatureRead
from feedmix.features.registry import FeatureRegistry

Keys = Sequence[str] | npt.NDArray[Any]
#: one entity's part of a multi-entity read: (entity, keys, feature names)
ReadRequest = tuple[str, Keys, Sequence[str]]

__all__ = [
    "FeatureRead",
    "Keys",
    "OnlineStore",
    "ReadRequest",
    "checked_write_keys",
    "read_entities",
]


class OnlineStore(Protocol):
    """Feature rows by entity key. Backend failures raise ``StoreUnavailable``."""

    @property
    def remote(self) -> bool:
        """True when reads go over the network: callers then run them off the request thread."""
        ...

    @property
    def registry(self) -> FeatureRegistry: ...

    def write(self, entity: str, keys: Keys, columns: Mapping[str, npt.ArrayLike], ts: float) -> None:
        """Set these features of these keys (last duplicate wins); other features are kept.

        ``ts`` (unix seconds) is the time the values describe; the row's TTL restarts now.
        """
        ...

    def read(self, entity: str, keys: Keys, names: Sequence[str]) -> FeatureRead:
        """These features of these keys, in key order, defaults where absent (one round trip)."""
        ...

    def close(self) -> None: ...


def read_entities(
    store: OnlineStore, requests: Sequence[ReadRequest], *, timeout_s: float | None = None
) -> list[FeatureRead]:
    """Several entities' features at once, in request order.

    Both stores here answer this in one call (``read_many``: one MGET on Redis, one lock hold in
    process); ``timeout_s`` then bounds a network store's wait for the reply. A store without
    ``read_many`` (a wrapper, a test double) is read entity by entity, without the bound.
    """
    many = getattr(store, "read_many", None)
    if many is not None:
        return list(many(requests, timeout_s=timeout_s))
    return [store.read(entity, keys, names) for entity, keys, names in requests]


def checked_write_keys(entity: str, keys: Keys) -> KeyArray:
    """Keys as bytes, rejecting the ones no backend can store faithfully."""
    arr = as_key_array(keys)
    if arr.size == 0:
        return arr
    bad = (
        (np.strings.str_len(arr) == 0) | (np.strings.find(arr, b"{") >= 0) | (np.strings.find(arr, b"}") >= 0)
    )
    if entity == "user_community":
        parts = np.strings.partition(arr, COMPOSITE_SEPARATOR)
        bad |= (np.strings.str_len(parts[0]) == 0) | (np.strings.str_len(parts[2]) == 0)
    if bad.any():
        raise ValueError(f"invalid {entity} key {arr[np.flatnonzero(bad)[0]]!r}")
    return arr

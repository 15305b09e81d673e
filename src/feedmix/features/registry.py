"""Feature definitions: one registry says what every online feature is, who owns it, and how it ages.

A feature is identified by its entity and name (``post.ctr_1h``); the same name may exist for two
entities (``clicks_24h`` of a user and of a user×community pair are different features). The
registry is the single source of the online store's layout: the order in which an entity's features
were registered is the order of the values in its packed records, and a fingerprint of that layout
is written into every record so a reader detects records written under another layout.
"""

from __future__ import annotations

import builtins
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

#: ``post_signals``: what a post is about (the content signals), keyed by post id like ``post`` but kept in
#: its own record, since it lives as long as the post and not as long as its engagement windows
Entity = Literal["user", "post", "community", "user_community", "post_signals"]
Dtype = Literal["float32", "int64", "bool"]
ENTITIES: tuple[Entity, ...] = get_args(Entity)
DTYPES: tuple[Dtype, ...] = get_args(Dtype)

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _fits(value: object, dtype: str) -> bool:
    """Whether ``value`` is a faithful value of ``dtype`` (bools are not numbers here)."""
    if dtype == "bool":
        return isinstance(value, bool | np.bool_)
    if isinstance(value, bool | np.bool_):
        return False
    if dtype == "int64":
        return isinstance(value, int | np.integer) and -(2**63) <= int(value) < 2**63
    # float32: any real number in range (rounded to the nearest float32); NaN is allowed
    if not isinstance(value, int | float | np.number):
        return False
    with np.errstate(over="ignore"):
        return bool(np.isnan(value) or np.isfinite(np.float32(value)))


@dataclass(frozen=True)
class FeatureDefinition:
    """One online feature.

    ``default`` is what a reader gets when the value is absent (entity unknown, record expired,
    feature never written, store down); it is chosen so that ranking treats "unknown" sensibly
    (a smoothed rate defaults to its prior, not to 0). ``ttl_s`` bounds how long a written value
    may be served without being rewritten.
    """

    entity: Entity
    name: str
    dtype: Dtype
    default: float | int | bool
    ttl_s: float
    owner: str
    description: str

    def __post_init__(self) -> None:
        if self.entity not in ENTITIES:
            raise ValueError(f"feature {self.name!r}: entity {self.entity!r} is not one of {ENTITIES}")
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(
                f"feature name {self.name!r} is invalid: use 1-64 lowercase letters, digits or _,"
                " starting with a letter"
            )
        if self.dtype not in DTYPES:
            raise ValueError(f"feature {self.name!r}: dtype {self.dtype!r} is not one of {DTYPES}")
        if not (isinstance(self.ttl_s, int | float) and np.isfinite(self.ttl_s) and self.ttl_s > 0):
            raise ValueError(f"feature {self.name!r}: ttl_s must be a finite number > 0")
        if not self.owner:
            raise ValueError(f"feature {self.name!r}: owner is required")
        if not _fits(self.default, self.dtype):
            raise ValueError(f"feature {self.name!r}: default {self.default!r} is not a {self.dtype}")

    @property
    def np_dtype(self) -> np.dtype[Any]:
        return np.dtype(self.dtype)

    @property
    def qualified_name(self) -> str:
        return f"{self.entity}.{self.name}"


class FeatureRegistry:
    """Feature definitions by entity, in registration order (which is the storage order)."""

    def __init__(self, definitions: Iterable[FeatureDefinition] = ()) -> None:
        self._by_entity: dict[str, dict[str, FeatureDefinition]] = {}
        for d in definitions:
            self.register(d)

    def register(self, definition: FeatureDefinition) -> FeatureDefinition:
        features = self._by_entity.setdefault(definition.entity, {})
        if definition.name in features:
            raise ValueError(f"feature {definition.qualified_name} is already registered")
        features[definition.name] = definition
        return definition

    def get(self, entity: str, name: str) -> FeatureDefinition:
        try:
            return self._by_entity[entity][name]
        except KeyError:
            raise KeyError(f"no feature {entity}.{name} in the registry") from None

    def by_entity(self, entity: str) -> list[FeatureDefinition]:
        """The entity's features in registration order (empty for an entity with none)."""
        return list(self._by_entity.get(entity, {}).values())

    def entities(self) -> list[str]:
        return [e for e in ENTITIES if self._by_entity.get(e)]

    def list(self) -> builtins.list[FeatureDefinition]:
        """Every feature, sorted by entity then name (for people; storage order is by_entity)."""
        return sorted(self, key=lambda d: (d.entity, d.name))

    def __iter__(self) -> Iterator[FeatureDefinition]:
        for features in self._by_entity.values():
            yield from features.values()

    def __len__(self) -> int:
        return sum(len(f) for f in self._by_entity.values())

    def as_rows(self) -> builtins.list[dict[str, Any]]:
        """One plain dict per feature, sorted like ``list()``: for tables, JSON and the CLI."""
        return [
            {
                "entity": d.entity,
                "name": d.name,
                "dtype": d.dtype,
                "default": d.default,
                "ttl_s": d.ttl_s,
                "owner": d.owner,
                "description": d.description,
            }
            for d in self.list()
        ]

    def layout_fingerprint(self, entity: str) -> int:
        """A nonzero 64-bit hash of the entity's storage layout (names and dtypes, in order).

        Stores write it into every record; a record whose fingerprint differs was written under
        another layout and is read as missing rather than misread.
        """
        spec = ";".join(f"{d.name}:{d.dtype}" for d in self.by_entity(entity))
        digest = hashlib.blake2b(f"{entity}|{spec}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") or 1

"""One entity's features as a storage schema: order, defaults, TTL and the packed record format.

Both online stores derive everything layout-related from here, so they agree on defaults, on
which features count as written and on expiry.

Packed record (Redis value), little-endian, no padding::

    schema  u64      registry.layout_fingerprint(entity); 0 never occurs (a blank record)
    ts      f64      the ``ts`` of the last write (unix seconds)
    mask    u8[m]    bit i (little bit order) set = feature i was ever written in this record
    values           each feature in registration order: float32 (4 B), int64 (8 B), bool (1 B)

With 50 float32 features a record is 16 + 7 + 200 = 223 bytes. A batch of records concatenated is
decoded by one ``np.frombuffer`` with a structured dtype; a record written under another layout
(different fingerprint or size) is read as missing, never misread.

TTL: a record expires as a whole, ``ttl_s`` after its last write; the entity's TTL is the
minimum ``ttl_s`` of its features (a record cannot outlive its shortest-lived feature).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.features.registry import FeatureDefinition, FeatureRegistry

_STORED = {"float32": "<f4", "int64": "<i8", "bool": "?"}
HEADER_SIZE = 16  # schema + ts


@dataclass(frozen=True)
class FeatureRead:
    """What a store returns for ``n`` keys and ``k`` requested features.

    ``columns`` hold one array per requested feature, in its registry dtype, defaults filled in.
    ``missing[i]`` is True when key ``i`` has no live record (never written, expired, written
    under another layout); ``unset[i, j]`` is True when feature ``j`` of key ``i`` is its default
    because it was not there (record missing, or the feature was never written to it).
    """

    names: tuple[str, ...]
    columns: dict[str, npt.NDArray[Any]]
    missing: npt.NDArray[np.bool_]
    unset: npt.NDArray[np.bool_]

    def missing_counts(self) -> dict[str, int]:
        """Per requested feature, how many keys got the default."""
        counts = self.unset.sum(axis=0)
        return {name: int(c) for name, c in zip(self.names, counts.tolist(), strict=True)}


class EntitySchema:
    """The storage schema of one entity, derived from the registry (build once per store)."""

    def __init__(self, registry: FeatureRegistry, entity: str) -> None:
        defs = registry.by_entity(entity)
        if not defs:
            raise ValueError(f"entity {entity!r} has no features in the registry")
        self.entity = entity
        self.definitions: tuple[FeatureDefinition, ...] = tuple(defs)
        self.names: tuple[str, ...] = tuple(d.name for d in defs)
        self.position: dict[str, int] = {d.name: i for i, d in enumerate(defs)}
        self.ttl_s = min(d.ttl_s for d in defs)
        self.fingerprint = registry.layout_fingerprint(entity)
        self.mask_bytes = (len(defs) + 7) // 8
        self.record_dtype = np.dtype(
            [("_schema", "<u8"), ("_ts", "<f8"), ("_mask", "u1", (self.mask_bytes,))]
            + [(d.name, _STORED[d.dtype]) for d in defs]
        )
        self.record_size = self.record_dtype.itemsize
        self._defaults = {d.name: np.array(d.default, dtype=d.np_dtype) for d in defs}

    # -- names and defaults --------------------------------------------------------------------

    def check_names(self, names: Sequence[str]) -> list[int]:
        """Positions of ``names``; ValueError naming an unknown or repeated one."""
        out = []
        for name in names:
            if name not in self.position:
                raise ValueError(f"no feature {self.entity}.{name} (have: {list(self.names)})")
            out.append(self.position[name])
        if len(set(out)) != len(out):
            raise ValueError(f"feature names repeat: {list(names)}")
        return out

    def default_value(self, name: str) -> npt.NDArray[Any]:
        return self._defaults[name]

    def default_read(self, names: Sequence[str], n: int) -> FeatureRead:
        """Every key missing: the answer when there is nothing (or no store) to read."""
        return FeatureRead(
            tuple(names),
            {name: np.full(n, self._defaults[name]) for name in names},
            np.ones(n, dtype=bool),
            np.ones((n, len(names)), dtype=bool),
        )

    def cast_columns(self, columns: Mapping[str, npt.ArrayLike], n: int) -> dict[str, npt.NDArray[Any]]:
        """Columns in their registry dtypes, checked: known names, ``n`` rows, no lossy kind change.

        Casting is ``same_kind``: counts may be written as float32 features, but floats are never
        silently truncated into int64 ones.
        """
        self.check_names(list(columns))
        out: dict[str, npt.NDArray[Any]] = {}
        for name, values in columns.items():
            arr = np.asarray(values)
            if arr.shape != (n,):
                raise ValueError(f"column {name!r} has shape {arr.shape}, expected ({n},)")
            dtype = self.definitions[self.position[name]].np_dtype
            # an empty list comes in as float64; there is nothing to lose in casting it
            if n:
                out[name] = arr.astype(dtype, casting="same_kind", copy=False)
            else:
                out[name] = np.empty(0, dtype=dtype)
        return out

    # -- packed records (Redis) ----------------------------------------------------------------

    def pack(self, columns: Mapping[str, npt.NDArray[Any]], n: int, ts: float) -> bytes:
        """``n`` packed records, concatenated: the given columns written, the others at defaults."""
        rec = np.zeros(n, dtype=self.record_dtype)
        rec["_schema"] = self.fingerprint
        rec["_ts"] = ts
        bits = np.zeros(self.mask_bytes * 8, dtype=np.uint8)
        bits[[self.position[name] for name in columns]] = 1
        rec["_mask"] = np.packbits(bits, bitorder="little")
        for name in self.names:
            rec[name] = columns[name] if name in columns else self._defaults[name]
        return rec.tobytes()

    def written_ranges(self, names: Sequence[str]) -> list[tuple[int, int]]:
        """1-based inclusive byte ranges of these features' values in a record, merged and sorted."""
        spans = sorted(
            (int(self.record_dtype.fields[name][1]), int(self.record_dtype.fields[name][0].itemsize))  # type: ignore[index]
            for name in names
        )
        merged: list[tuple[int, int]] = []
        for offset, size in spans:
            start, stop = offset + 1, offset + size
            if merged and merged[-1][1] + 1 == start:
                merged[-1] = (merged[-1][0], stop)
            else:
                merged.append((start, stop))
        return merged

    def blank_record(self) -> bytes:
        """A record that reads as missing (schema 0): the stand-in for an absent key."""
        return bytes(self.record_size)

    def unpack(self, buf: bytes, names: Sequence[str]) -> FeatureRead:
        """Decode concatenated records (one per key, blanks for absent keys) into columns."""
        positions = self.check_names(names)
        rec = np.frombuffer(buf, dtype=self.record_dtype)
        missing = rec["_schema"] != np.uint64(self.fingerprint)
        written = np.unpackbits(rec["_mask"], axis=1, count=len(self.names), bitorder="little")
        unset = (written[:, positions] == 0) | missing[:, None]
        any_unset = (unset.sum(axis=0) > 0).tolist()
        columns: dict[str, npt.NDArray[Any]] = {}
        for j, name in enumerate(names):
            col = rec[name].astype(self.definitions[positions[j]].np_dtype)  # a contiguous copy
            if any_unset[j]:
                col[unset[:, j]] = self._defaults[name]
            columns[name] = col
        return FeatureRead(tuple(names), columns, missing, unset)

"""The offline feature store: an append-only history of feature values on Parquet.

Training needs the value a feature had at any past moment, not just its latest value, so nothing
here is ever updated in place: every write appends rows ``(key, event_ts, feature...)`` and the
point-in-time join (``pit_join``) picks, per impression, the latest row written before it.

Layout: ``root/entity=<entity>/date=<YYYY-MM-DD>/part-<ns>-<uuid>.parquet``, one file per write
and UTC date of ``event_ts`` (a write spanning midnight makes two files). Partitioning by date
lets a join read only the days it can use; the write-ordered file names settle which of two rows
with the same key and timestamp was written last.

What ``event_ts`` must mean: the moment the value became *available to serving*, not the end of
the data it summarises. A daily job that computes "clicks up to midnight" and publishes at 02:00
must stamp 02:00; stamping midnight would hand training two hours of values serving never had.

NULL (or float NaN, stored as NULL) in a write means "this write does not carry this feature",
so producers that own different features of one entity can write them separately; the join takes
each feature's latest non-null value. Keys are strings, spelled as the events spell them (post ids
in base36, ``ints_to_post_ids`` for int64 ids).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from feedmix.features.offline.parquet_io import (
    list_parquet_files,
    part_file_name,
    to_arrow,
    utc_dates,
    write_parquet_atomic,
)

KEY_COLUMN = "key"
TS_COLUMN = "event_ts"
_ENTITY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Dots are allowed because serving names columns like ``f.ctr_24h``; the join quotes every name.
_FEATURE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,127}$")
# file_row_number: the column DuckDB adds when the join reads row order from the files
RESERVED_NAMES = frozenset({KEY_COLUMN, TS_COLUMN, "file_row_number"})


def validate_entity(entity: str) -> str:
    """Entity names become directory names, so only lowercase identifiers are allowed."""
    if not isinstance(entity, str) or not _ENTITY.match(entity):
        raise ValueError(f"entity {entity!r} is invalid: use 1-64 lowercase letters, digits or _")
    return entity


def validate_feature_name(name: str) -> str:
    if not isinstance(name, str) or not _FEATURE.match(name) or name in RESERVED_NAMES:
        raise ValueError(
            f"feature name {name!r} is invalid: use letters, digits, _ or . (starting with a letter),"
            f" not {sorted(RESERVED_NAMES)}"
        )
    return name


class OfflineFeatureStore:
    """Appends feature rows to ``root_dir``; safe for concurrent writers (no file is shared)."""

    def __init__(self, root_dir: str | Path, *, durable: bool = True) -> None:
        self.root = Path(root_dir)
        self.durable = durable

    def entity_dir(self, entity: str) -> Path:
        return self.root / f"entity={validate_entity(entity)}"

    def files(self, entity: str) -> list[str]:
        """The entity's finished Parquet files, in write order within each date."""
        return list_parquet_files(self.entity_dir(entity))

    def write(
        self,
        entity: str,
        keys: npt.NDArray[Any] | Sequence[str],
        columns: Mapping[str, npt.ArrayLike],
        event_ts: npt.ArrayLike | float,
    ) -> list[Path]:
        """Append one row per key; ``event_ts`` is one timestamp for all rows or one per row.

        Returns the files written (none for zero rows). Validation happens before anything is
        written, so a bad batch leaves no trace.
        """
        directory = self.entity_dir(entity)
        key_arr = _string_keys(keys)
        n = len(key_arr)
        ts = np.asarray(event_ts, dtype=np.float64)
        ts = np.full(n, float(ts)) if ts.ndim == 0 else ts
        if ts.shape != (n,):
            raise ValueError(f"event_ts has shape {ts.shape}, expected ({n},) or a scalar")
        if n and (not np.all(np.isfinite(ts)) or ts.min() < 0):
            raise ValueError("event_ts must be finite Unix seconds >= 0")
        if not columns:
            raise ValueError("a write needs at least one feature column")
        arrays: dict[str, pa.Array] = {KEY_COLUMN: pa.array(key_arr, type=pa.string())}
        arrays[TS_COLUMN] = pa.array(ts, type=pa.float64())
        for name, values in columns.items():
            validate_feature_name(name)
            col = to_arrow(values)
            if len(col) != n:
                raise ValueError(f"feature {name!r} has {len(col)} rows, keys have {n}")
            arrays[name] = col
        if n == 0:
            return []
        table = pa.table(arrays)
        dates = utc_dates(ts)
        distinct = np.unique(dates)
        written = []
        for date in distinct:
            part = table if len(distinct) == 1 else table.filter(pa.array(dates == date))
            path = directory / f"date={date}" / part_file_name()
            written.append(write_parquet_atomic(part, path, durable=self.durable))
        return written


def _string_keys(keys: npt.NDArray[Any] | Sequence[str]) -> list[str]:
    """Keys as a list of str; numbers are refused rather than guessed (post 123 is ``"3f"``)."""
    arr = np.asarray(keys)
    if arr.ndim != 1:
        raise ValueError(f"keys must be one-dimensional, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "USO":
        raise TypeError(
            f"keys must be strings (got dtype {arr.dtype}); convert int64 post ids with ints_to_post_ids"
        )
    out = [str(k) for k in arr.tolist()]
    if arr.dtype == object and not all(isinstance(k, str) for k in arr.tolist()):
        raise TypeError("keys must be strings")
    return out

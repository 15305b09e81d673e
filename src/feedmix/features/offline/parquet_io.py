"""Atomic Parquet writes, file naming and SQL quoting shared by every writer and reader here.

Readers (a DuckDB glob over ``**/*.parquet``, a training job, an exporter resuming) run while
writers are mid-file. A writer therefore writes to a temporary name in the target directory and
renames it into place: ``os.replace`` is atomic within one file system, so each Parquet file
appears whole or not at all. The temporary name starts with a dot and ends in ``.tmp``, so no
``*.parquet`` glob ever matches it; a crash leaves at worst a stray ``.tmp`` file, never a
truncated Parquet file that would fail (or, worse, silently shorten) a training job.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from feedmix.stores.durable_files import fsync_dir, fsync_file

PARQUET_SUFFIX = ".parquet"
TMP_SUFFIX = ".tmp"

_seq_lock = threading.Lock()
_last_ns = 0


def write_parquet_atomic(table: pa.Table, path: Path, *, durable: bool = True) -> Path:
    """Write ``table`` to ``path`` so that no reader ever sees a partial file.

    ``durable`` fsyncs the file before the rename and the directory after it, so a rename that
    survived a power loss also has its data (without it the rename can reach disk first).
    """
    if path.suffix != PARQUET_SUFFIX:
        raise ValueError(f"{path} must end in {PARQUET_SUFFIX}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}{TMP_SUFFIX}")
    try:
        pq.write_table(table, tmp, compression="zstd")
        if durable:
            fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if durable:
        fsync_dir(path.parent)
    return path


def part_file_name() -> str:
    """``part-<ns>-<uuid>.parquet``: unique, and in write order when sorted by name.

    The nanosecond prefix is strictly increasing within a process, so sorting a partition's files
    by name replays its writes in order; the point-in-time join uses that order to decide which of
    two rows with the same key and timestamp is the later write. Across processes the order is
    the wall clock's, which is as good as "later write" can be defined without a coordinator.
    """
    global _last_ns
    with _seq_lock:
        ns = max(time.time_ns(), _last_ns + 1)
        _last_ns = ns
    return f"part-{ns:020d}-{uuid.uuid4().hex}{PARQUET_SUFFIX}"


def utc_dates(ts: npt.NDArray[np.float64]) -> npt.NDArray[np.str_]:
    """The UTC calendar date (``YYYY-MM-DD``) of each Unix-seconds timestamp, vectorised."""
    days = np.floor(np.asarray(ts, dtype=np.float64) / 86400.0).astype(np.int64)
    return days.astype("datetime64[D]").astype(str)


def list_parquet_files(root: Path) -> list[str]:
    """Every finished Parquet file under ``root``, sorted (temporary files are never listed)."""
    if not root.is_dir():
        return []
    return sorted(str(p) for p in root.rglob(f"*{PARQUET_SUFFIX}") if p.is_file())


def sql_ident(name: str) -> str:
    """A DuckDB identifier for any column name (feature names contain dots)."""
    return '"' + name.replace('"', '""') + '"'


def sql_str(value: str) -> str:
    """A DuckDB string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_file_list(paths: Iterable[str]) -> str:
    """A DuckDB list literal of file paths, for ``read_parquet``."""
    return "[" + ", ".join(sql_str(p) for p in paths) + "]"


def sql_float(value: float) -> str:
    """A float literal that round-trips exactly (``repr``), so SQL and Python compare alike."""
    if not np.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return f"CAST({float(value)!r} AS DOUBLE)"


def to_arrow(values: Any) -> pa.Array:
    """One column as Arrow; float NaN becomes null, because in a feature log NaN means "no value"."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"columns must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        return pa.array(arr, mask=np.isnan(arr))
    if arr.dtype.kind in "US":
        return pa.array(arr.astype(str), type=pa.string())
    if arr.dtype == object:
        return pa.array(arr.tolist(), from_pandas=True)
    return pa.array(arr)

"""One call from an event log to a training-set Parquet file: ``feedmix features training-set``.

``build_training_set`` chains the offline pieces, each of which keeps its own guarantees:

1. ``export_events``: the event log (any ``open_event_log`` URL) to Parquet in a work directory,
   incrementally: a second run exports only the events appended since. Before exporting, the
   export's newest event is checked against the log, so pointing an old work directory at a new
   log (a recreated SQLite file restarts its offsets) fails loudly instead of skipping events.
2. ``build_training_rows`` with the registry's feature sets (``registry_specs``): one row per
   impression, labels within ``label_window_s``, every feature as known strictly before the
   impression in the offline history (which ``OfflineWriteThroughStore`` records as serving
   received it), or NULL.
3. ``fill_defaults`` with the registry's defaults and ``<column>.missing`` indicators; feature
   columns get the registry's dtypes, whatever the history held.
4. optionally ``join_logged_features``: the values serving logged for sampled requests,
   as ``served.<column>`` plus ``served.logged``.
5. an atomic Parquet write of the result, and a summary: rows, positives per label, the feature
   columns and their missing rates.

Step 2 can run as ``partitions`` shards of users on an executor (``feedmix.jobs``: this process, or
tasks on a Ray cluster). Labels pair an action with an impression of the same user and features
join each impression alone, so the shards' rows, put back in (``ts``, offset) order, are the rows
of one pass, value for value; every shard is given the whole log's watermark. Each shard reads the
export and the feature history itself (a path every worker sees), so a cluster of many machines
needs them on a shared file system.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from feedmix.events.backends import open_event_log
from feedmix.events.event_log import EventLog
from feedmix.features.offline.default_fill import fill_defaults
from feedmix.features.offline.event_export import export_events, exported_through
from feedmix.features.offline.logged_join import join_logged_features
from feedmix.features.offline.parquet_io import write_parquet_atomic
from feedmix.features.offline.pit_join import (
    LABELS,
    WINDOW_COMPLETE,
    FeatureSetSpec,
    build_training_rows,
    newest_event_ts,
)
from feedmix.features.offline.registry_specs import (
    POST_COMMUNITIES_TABLE,
    post_communities_table,
    registry_feature_sets,
)
from feedmix.features.registry import FeatureRegistry
from feedmix.jobs.backends import make_executor
from feedmix.jobs.executor import Executor

DEFAULT_LABEL_WINDOW_S = 3600.0
#: where exports go when no work directory is given: ``<offline root>/_event_exports/<url hash>``
EXPORTS_DIR = "_event_exports"
SERVED_PREFIX = "served."
_ARROW_TYPES = {"float32": pa.float32(), "int64": pa.int64(), "bool": pa.bool_()}


class ExportMismatch(RuntimeError):
    """The work directory holds an export of another event log (or of this one before a reset)."""


def default_work_dir(event_log_url: str, offline_root: str | Path) -> Path:
    digest = hashlib.sha256(event_log_url.encode()).hexdigest()[:16]
    return Path(offline_root) / EXPORTS_DIR / digest


def build_training_set(
    event_log_url: str,
    offline_root: str | Path,
    out_path: str | Path,
    label_window_s: float = DEFAULT_LABEL_WINDOW_S,
    *,
    served_log_dir: str | Path | None = None,
    post_communities: Mapping[str, str] | pa.Table | None = None,
    registry: FeatureRegistry | None = None,
    work_dir: str | Path | None = None,
    watermark: float | None = None,
    complete_only: bool = False,
    progress: bool = True,
    executor: Executor | None = None,
    partitions: int | None = None,
) -> dict[str, Any]:
    """Write the training set for ``event_log_url`` to ``out_path`` (``.parquet``); returns a summary.

    ``offline_root`` is the ``OfflineFeatureStore`` root the online writes were recorded in;
    ``post_communities`` (post id -> community name, or a table of ``post_id``, ``community``)
    is needed for the ``community`` and ``user_community`` features, which are left out (and
    listed as ``skipped_entities``) without it. ``registry`` defaults to the project's features.
    ``work_dir`` keeps the incremental event export (default: under ``offline_root``, one per
    log URL). ``complete_only`` keeps only impressions whose label window closed by the
    ``watermark`` (default: the newest event), so a late click cannot turn a negative positive.
    ``executor`` runs the join in ``partitions`` user shards (default: the executor's parallelism;
    the default executor is this process, in one partition).
    """
    started = time.monotonic()
    say = _reporter(progress, started)
    if registry is None:
        from feedmix.features.definitions import default_registry

        registry = default_registry()
    out = Path(out_path)
    if out.suffix != ".parquet":
        raise ValueError(f"{out} must end in .parquet")
    events_dir = Path(work_dir) if work_dir is not None else default_work_dir(event_log_url, offline_root)

    log = open_event_log(event_log_url)
    try:
        before = exported_through(events_dir)
        check_export_matches_log(log, events_dir)
        say(f"exporting events from {event_log_url} after offset {before} into {events_dir}")
        through = export_events(log, events_dir, progress=progress)
    finally:
        log.close()
    say(f"events exported through offset {through} ({through - before} new)")

    feature_sets = registry_feature_sets(registry, communities=post_communities is not None)
    tables = (
        {POST_COMMUNITIES_TABLE: post_communities_table(post_communities)}
        if post_communities is not None
        else None
    )
    entities = ", ".join(s.entity for s in feature_sets.specs)
    say(f"joining impressions with {len(feature_sets.columns)} features of {entities} as of each impression")
    ex = executor if executor is not None else make_executor("local")
    n_parts = partitions if partitions is not None else ex.parallelism
    if n_parts < 1:
        raise ValueError(f"partitions must be at least 1, got {n_parts}")
    if n_parts > 1 and watermark is None:
        watermark = newest_event_ts(events_dir)
    job = _RowsJob(  # absolute paths: a worker's working directory is not ours
        str(Path(events_dir).resolve()),
        str(Path(offline_root).resolve()),
        tuple(feature_sets.specs),
        dict(feature_sets.dtypes),
        label_window_s,
        watermark,
        tables,
    )
    shards = [(i, n_parts) for i in range(n_parts)] if n_parts > 1 else [None]
    say(f"joining in {len(shards)} partition(s) on the {ex.name} executor")
    rows = _merge_shards(list(ex.map(_shard_rows, job, shards)))
    incomplete = rows.num_rows - _count_true(rows.column(WINDOW_COMPLETE))
    if complete_only:
        rows = rows.filter(rows.column(WINDOW_COMPLETE))
    n = rows.num_rows
    say(f"{n} training rows ({incomplete} with an open label window{', dropped' if complete_only else ''})")

    missing_rate = {c: (rows.column(c).null_count / n if n else 0.0) for c in feature_sets.columns}
    rows = fill_defaults(rows, feature_sets.defaults, indicators=True)

    served_rows = None
    if served_log_dir is not None:
        rows = join_logged_features(rows, served_log_dir, prefix=SERVED_PREFIX)
        served_rows = _count_true(rows.column(SERVED_PREFIX + "logged"))
        say(f"{served_rows} rows matched the served-feature log in {served_log_dir}")

    write_parquet_atomic(rows, out)
    summary: dict[str, Any] = {
        "out": str(out),
        "rows": n,
        "positives": {label: _count_true(rows.column(label)) for label in LABELS.values()},
        "open_label_windows": 0 if complete_only else incomplete,
        "features": feature_sets.columns,
        "missing_rate": missing_rate,
        "skipped_entities": feature_sets.skipped,
        "events": {"exported_through": through, "new": through - before, "dir": str(events_dir)},
        "executor": {"name": ex.name, "partitions": len(shards)},
        "seconds": round(time.monotonic() - started, 3),
    }
    if served_rows is not None:
        summary["served_logged_rows"] = served_rows
    say(f"wrote {out}")
    return summary


@dataclass(frozen=True)
class _RowsJob:
    """What every partition of the join reads (sent to a cluster once)."""

    events_dir: str
    offline_root: str
    specs: tuple[FeatureSetSpec, ...]
    dtypes: dict[str, str]
    label_window_s: float
    watermark: float | None
    tables: dict[str, pa.Table] | None


def _shard_rows(job: _RowsJob, shard: tuple[int, int] | None) -> pa.Table:
    """One partition's rows, feature columns already in their registry types: a shard whose history
    lacks a feature gets it as DOUBLE, so the types must agree before the shards are concatenated."""
    rows = build_training_rows(
        job.events_dir,
        job.offline_root,
        job.specs,
        job.label_window_s,
        watermark=job.watermark,
        tables=job.tables,
        user_shard=shard,
    )
    return _cast(rows, job.dtypes)


def _merge_shards(parts: Sequence[pa.Table]) -> pa.Table:
    """The shards' rows in the order one pass gives (``ts``, then the impression's unique offset)."""
    if len(parts) == 1:
        return parts[0]
    merged = pa.concat_tables(parts).sort_by([("ts", "ascending"), ("impression_offset", "ascending")])
    return merged.combine_chunks()


def check_export_matches_log(log: EventLog, events_dir: str | Path) -> None:
    """Raise ``ExportMismatch`` unless the export's newest event is still at its offset in ``log``.

    A log trimmed past that offset (a Redis stream with ``maxlen``) cannot be checked and passes.
    """
    through = exported_through(events_dir)
    if through == 0:
        return
    files = sorted(Path(events_dir).glob(f"events-*-{through:020d}.parquet"))
    last = pq.read_table(files[-1], columns=["log_offset", "event_id"])
    last_id = last.column("event_id")[last.num_rows - 1].as_py()
    got = log.read(after=through - 1, limit=1)
    if got and got[0][0] > through:
        return
    if got and got[0][0] == through and got[0][1].event_id == last_id:
        return
    found = f"event {got[0][1].event_id!r}" if got else "no event"
    raise ExportMismatch(
        f"{events_dir} was exported from another event log: its offset {through} is event {last_id!r},"
        f" the log has {found} there; delete the directory or choose another work dir"
    )


def _cast(table: pa.Table, dtypes: Mapping[str, str]) -> pa.Table:
    """Feature columns in their registry types (a feature the history never held comes as DOUBLE)."""
    for name, dtype in dtypes.items():
        idx = table.column_names.index(name)
        table = table.set_column(idx, name, table.column(name).cast(_ARROW_TYPES[dtype]))
    return table


def _count_true(column: pa.ChunkedArray) -> int:
    total = pc.sum(column.cast(pa.int64())).as_py()
    return int(total or 0)


def _reporter(enabled: bool, started: float) -> Callable[[str], None]:
    def say(message: str) -> None:
        if enabled:
            print(f"[training-set {time.monotonic() - started:7.1f}s] {message}", file=sys.stderr, flush=True)

    return say


__all__ = ["ExportMismatch", "build_training_set", "check_export_matches_log"]

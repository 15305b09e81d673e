"""Training rows from the event log: one per impression, with labels and point-in-time features.

A model trained on feature values serving did not have yet learns from the future and then
disappoints online. Every choice below exists to rule that out, and ``tests/features_offline``
checks them against a brute-force reference on random timelines.

Features (one DuckDB ``ASOF LEFT JOIN`` per ``FeatureSetSpec``):

* an impression at ``ts`` gets, for each feature, the latest non-null value written with
  ``event_ts < ts``, **strictly before**. A value stamped exactly ``ts`` is excluded: it may have been
  computed from this very impression (a streaming counter that has just counted it, or worse a
  click that shares the timestamp), and serving, which ran before the impression was recorded,
  cannot have read it. Excluding the tie costs at most a value that is a few milliseconds fresher.
* ties in ``event_ts`` for one key go to the later write (file name order, then row order);
* ``max_age_s`` (TTL): a value older than that at the impression (``ts - value_ts > max_age_s``)
  is NULL, as it would be in an online store that expires keys; an age of exactly ``max_age_s``
  is still valid. By default the age is per feature, from that feature's own value
  (``ttl_from="feature"``); ``ttl_from="record"`` measures it from the key's latest write of any
  feature of the entity, like an online store whose record TTL restarts on every partial write
  (the Redis store does that).
* a feature never written before ``ts`` is NULL. NULL is kept on purpose: "missing" and "zero" are
  different facts for a model; ``default_fill.fill_defaults`` turns NULLs into the serving defaults
  (and optional missing-indicator columns) as a separate, explicit step.

The impression's ``ts`` stands in for the serving time (the log has no "served at" timestamp), so a
value written between serving and the impression's ``ts`` can still slip in; ``logged_join`` attaches
the values serving really used, where they were logged.

Labels: each click/upvote/downvote/hide is attributed to the latest impression of the same
(user, post) at or before it (a timestamp tie counts the action as after the impression), and
counts only if ``action.ts < impression.ts + label_window_s``. So an action never labels an
impression after it, another user's or another post's impression, or an older impression of the
same post that a newer one has superseded (no double counting when a post is shown twice).
``label_window_complete`` says whether the window had closed by the watermark (the newest event
by default): a recent impression without a click is not yet a negative.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa

from feedmix.events.schema import EVENT_TYPES
from feedmix.features.offline.event_export import EVENTS_SCHEMA
from feedmix.features.offline.feature_log import (
    KEY_COLUMN,
    TS_COLUMN,
    OfflineFeatureStore,
    validate_entity,
    validate_feature_name,
)
from feedmix.features.offline.parquet_io import (
    list_parquet_files,
    sql_file_list,
    sql_float,
    sql_ident,
    sql_str,
)

#: the columns every training row starts with (what an impression carries)
IMPRESSION_COLUMNS = (
    "impression_offset",
    "event_id",
    "request_id",
    "user_id",
    "post_id",
    "position",
    "surface",
    "ts",
)
#: action event type -> label column; every event type other than "impression" must be here
LABELS: dict[str, str] = {
    "click": "clicked",
    "upvote": "upvoted",
    "downvote": "downvoted",
    "hide": "hidden",
    "comment": "commented",
}
WINDOW_COMPLETE = "label_window_complete"
_DATE_DIR = re.compile(r"date=(\d{4}-\d{2}-\d{2})")
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_INTERNAL_TABLES = frozenset({"ev", "ev_empty", "imp", "lab"})  # and fs0, fs1...

assert set(LABELS) == set(EVENT_TYPES) - {"impression"}, "a new event type needs a label column"


@dataclass(frozen=True)
class FeatureSetSpec:
    """Features of one entity joined to impressions by one key.

    ``key`` names an impression column (``post_id``, ``user_id``...); for a derived key, give
    ``key_sql``, a DuckDB expression over the exported event's columns (table ``ev``:
    ``user_id``, ``post_id``, ``request_id``, ``surface``...), e.g. ``user_id || ':' || post_id``,
    whose value is compared as a string with the store's ``key``; it may read the ``tables``
    given to ``build_training_rows`` through a scalar subquery, e.g. a user x community key
    ``user_id || '|' || (SELECT community FROM posts p WHERE p.post_id = ev.post_id)``. Output
    columns are named ``<name>.<feature>``; ``name`` defaults to the entity (``name="f"`` gives
    ``f.ctr_1h``, the online hydrator's name for post features).
    """

    entity: str
    key: str
    features: Sequence[str]
    max_age_s: float | None = None
    key_sql: str | None = None
    name: str | None = None
    ttl_from: Literal["feature", "record"] = "feature"

    def __post_init__(self) -> None:
        validate_entity(self.entity)
        feats = tuple(self.features)
        if not feats:
            raise ValueError(f"feature set {self.prefix!r} names no features")
        if len(set(feats)) != len(feats):
            raise ValueError(f"feature set {self.prefix!r} names a feature twice")
        for f in feats:
            validate_feature_name(f)
        if self.key_sql is None and self.key not in IMPRESSION_COLUMNS:
            raise ValueError(
                f"key {self.key!r} is not an impression column {IMPRESSION_COLUMNS}; use key_sql"
            )
        if self.max_age_s is not None and not (self.max_age_s >= 0 and self.max_age_s < float("inf")):
            raise ValueError(f"max_age_s must be a finite number >= 0, got {self.max_age_s}")
        if self.ttl_from not in ("feature", "record"):
            raise ValueError(f"ttl_from must be 'feature' or 'record', got {self.ttl_from!r}")
        object.__setattr__(self, "features", feats)

    @property
    def prefix(self) -> str:
        return self.name or self.entity

    def output_column(self, feature: str) -> str:
        return f"{self.prefix}.{feature}"

    def key_expression(self) -> str:
        return self.key_sql if self.key_sql is not None else sql_ident(self.key)


def build_training_rows(
    events_dir: str | Path,
    feature_root: str | Path,
    feature_sets: Sequence[FeatureSetSpec],
    label_window_s: float,
    *,
    watermark: float | None = None,
    tables: Mapping[str, pa.Table] | None = None,
    user_shard: tuple[int, int] | None = None,
) -> pa.Table:
    """One row per impression (ordered by ``ts``, then log offset); see the module for semantics.

    ``events_dir`` is what ``export_events`` wrote, ``feature_root`` an ``OfflineFeatureStore``
    root. ``watermark`` (default: the newest event's ``ts``) decides ``label_window_complete``.
    ``tables`` are registered under their names for derived keys (``FeatureSetSpec.key_sql``).

    ``user_shard=(i, n)`` keeps only the impressions and actions of the users in shard ``i`` of ``n``
    (by ``user_shard_sql``). A label joins an action to an impression of the same user, and a
    feature value to one impression, so the shards' rows are exactly the rows of the whole, split;
    give the whole log's ``watermark`` (``newest_event_ts``), or each shard takes its own newest event.
    """
    if not (label_window_s > 0 and label_window_s < float("inf")):
        raise ValueError(f"label_window_s must be a positive finite number, got {label_window_s}")
    _check_output_names(feature_sets)
    store = OfflineFeatureStore(feature_root)
    con = duckdb.connect(config={"threads": 1})  # one core per job: the server shares the machine
    try:
        for name, table in (tables or {}).items():
            if not _TABLE_NAME.match(name) or name in _INTERNAL_TABLES or re.fullmatch(r"fs\d+", name):
                raise ValueError(f"table name {name!r} is invalid or reserved ({sorted(_INTERNAL_TABLES)})")
            con.register(name, table)
        _load_events(con, Path(events_dir), user_shard)
        keys = ", ".join(
            f"CAST(({spec.key_expression()}) AS VARCHAR) AS _k{i}" for i, spec in enumerate(feature_sets)
        )
        con.execute(
            f"CREATE TEMP TABLE imp AS SELECT log_offset AS impression_offset, event_id, request_id, user_id,"
            f" post_id, position, surface, ts{', ' + keys if keys else ''}"
            " FROM ev WHERE type = 'impression' AND ts IS NOT NULL"
        )
        _create_labels(con, label_window_s)
        if watermark is None:
            # fetchall, not fetchone: DuckDB 2 keeps a half-read result open and refuses the next query
            ((newest,),) = con.execute("SELECT max(ts) FROM ev").fetchall()
            watermark = float(newest) if newest is not None else 0.0
        ((lo, hi),) = con.execute("SELECT min(ts), max(ts) FROM imp").fetchall()
        for i, spec in enumerate(feature_sets):
            _create_feature_table(con, i, spec, store, lo, hi)
        return con.sql(_final_select(feature_sets, label_window_s, watermark)).to_arrow_table()
    finally:
        con.close()


def _check_output_names(feature_sets: Sequence[FeatureSetSpec]) -> None:
    taken = set(IMPRESSION_COLUMNS) | set(LABELS.values()) | {WINDOW_COMPLETE}
    for spec in feature_sets:
        for f in spec.features:
            out = spec.output_column(f)
            if out in taken:
                raise ValueError(f"output column {out!r} is produced twice; give the feature set a name")
            taken.add(out)


def user_shard_sql(shard: tuple[int, int], column: str = "user_id") -> str:
    """The condition on a user id ``column`` of shard ``i`` of ``n``: by MD5, the same in every
    process and DuckDB version (DuckDB's ``hash`` promises neither), so workers on many machines
    agree."""
    i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"user shard {i} of {n} does not exist")
    return f"md5_number(coalesce({column}, '')) % {int(n)} = {int(i)}"


def newest_event_ts(events_dir: str | Path) -> float:
    """The newest event's ``ts`` in an export (0.0 when it is empty): the watermark of every shard."""
    con = duckdb.connect(config={"threads": 1})
    try:
        _load_events(con, Path(events_dir), None)
        ((newest,),) = con.execute("SELECT max(ts) FROM ev").fetchall()
    finally:
        con.close()
    return float(newest) if newest is not None else 0.0


def _load_events(
    con: duckdb.DuckDBPyConnection, events_dir: Path, user_shard: tuple[int, int] | None
) -> None:
    """``ev``: the export as a view, or a shard's events as a table, filtered once (as a view the
    filter would run again in each of the four queries that scan it). The MD5 is taken of each
    distinct user, not of each event: a tenth of the build's time otherwise."""
    files = list_parquet_files(events_dir)
    if files:
        source = f"SELECT * FROM read_parquet({sql_file_list(files)}, union_by_name = true)"
    else:
        con.register("ev_empty", EVENTS_SCHEMA.empty_table())
        source = "SELECT * FROM ev_empty"
    if user_shard is None:
        con.execute(f"CREATE TEMP VIEW ev AS {source}")
    else:
        con.execute(
            f"CREATE TEMP TABLE ev AS WITH src AS ({source}), users AS"
            " (SELECT DISTINCT coalesce(user_id, '') AS u FROM src)"
            f" SELECT * FROM src WHERE coalesce(user_id, '') IN"
            f" (SELECT u FROM users WHERE {user_shard_sql(user_shard, 'u')})"
        )


def _create_labels(con: duckdb.DuckDBPyConnection, window_s: float) -> None:
    """``lab``: per impression offset, one boolean per action type attributed to it."""
    flags = ", ".join(f"bool_or(type = {sql_str(t)}) AS {sql_ident(col)}" for t, col in LABELS.items())
    actions = ", ".join(sql_str(t) for t in LABELS)
    con.execute(
        f"""
        CREATE TEMP TABLE lab AS
        WITH u AS (
            SELECT user_id, post_id, ts, 0 AS kind, log_offset AS off, log_offset AS imp_off,
                   ts AS imp_ts, NULL AS type
            FROM ev WHERE type = 'impression' AND ts IS NOT NULL
            UNION ALL
            SELECT user_id, post_id, ts, 1, log_offset, NULL, NULL, type
            FROM ev WHERE type IN ({actions}) AND ts IS NOT NULL
        ), attributed AS (
            SELECT kind, type, ts,
                   last_value(imp_off IGNORE NULLS) OVER w AS imp_off,
                   last_value(imp_ts IGNORE NULLS) OVER w AS imp_ts
            FROM u
            WINDOW w AS (PARTITION BY user_id, post_id ORDER BY ts, kind, off
                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        )
        SELECT imp_off, {flags}
        FROM attributed
        WHERE kind = 1 AND imp_off IS NOT NULL AND ts < imp_ts + {sql_float(window_s)}
        GROUP BY imp_off
        """
    )


def _create_feature_table(
    con: duckdb.DuckDBPyConnection,
    i: int,
    spec: FeatureSetSpec,
    store: OfflineFeatureStore,
    lo: float | None,
    hi: float | None,
) -> None:
    """``fs<i>``: per (key, event_ts), each feature's latest non-null value so far and its own ts.

    Forward-filling per feature first lets one ASOF join per set answer "latest non-null value of
    each feature", even when different writes carry different features; keeping only the last row
    per (key, event_ts) makes the ASOF match unique, so ties go to the later write.
    """
    # record TTL can keep an old value alive, so only a per-feature TTL bounds how old a file may be
    horizon = spec.max_age_s if spec.ttl_from == "feature" else None
    files = _files_in_range(store.files(spec.entity), horizon, lo, hi)
    present = _columns(con, files) if files else set()
    if not files or KEY_COLUMN not in present:
        cols = ", ".join(
            f"CAST(NULL AS DOUBLE) AS {sql_ident(f)}, CAST(NULL AS DOUBLE) AS {sql_ident(f + '__ts')}"
            for f in spec.features
        )
        con.execute(
            f"CREATE TEMP TABLE fs{i} AS SELECT CAST(NULL AS VARCHAR) AS {KEY_COLUMN},"
            f" CAST(NULL AS DOUBLE) AS {TS_COLUMN}, {cols} WHERE false"
        )
        return
    raw_cols = ", ".join(
        sql_ident(f) if f in present else f"CAST(NULL AS DOUBLE) AS {sql_ident(f)}" for f in spec.features
    )
    filled = ", ".join(
        f"last_value({sql_ident(f)} IGNORE NULLS) OVER w AS {sql_ident(f)}, "
        f"last_value(CASE WHEN {sql_ident(f)} IS NOT NULL THEN {TS_COLUMN} END IGNORE NULLS) OVER w"
        f" AS {sql_ident(f + '__ts')}"
        for f in spec.features
    )
    before = f"AND {TS_COLUMN} < {sql_float(hi)}" if hi is not None else ""
    con.execute(
        f"""
        CREATE TEMP TABLE fs{i} AS
        WITH raw AS (
            SELECT {KEY_COLUMN}, {TS_COLUMN}, {raw_cols}, _file, file_row_number AS _row
            FROM read_parquet({sql_file_list(files)}, union_by_name = true,
                              filename = '_file', file_row_number = true)
            WHERE {KEY_COLUMN} IN (SELECT _k{i} FROM imp) {before}
        ), filled AS (
            SELECT {KEY_COLUMN}, {TS_COLUMN}, {filled},
                   row_number() OVER (PARTITION BY {KEY_COLUMN}, {TS_COLUMN} ORDER BY _file DESC, _row DESC)
                       AS _rn
            FROM raw
            WINDOW w AS (PARTITION BY {KEY_COLUMN} ORDER BY {TS_COLUMN}, _file, _row
                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        )
        SELECT * EXCLUDE (_rn) FROM filled WHERE _rn = 1
        """
    )


def _columns(con: duckdb.DuckDBPyConnection, files: list[str]) -> set[str]:
    rows = con.execute(
        f"DESCRIBE SELECT * FROM read_parquet({sql_file_list(files)}, union_by_name = true)"
    ).fetchall()
    return {str(r[0]) for r in rows}


def _files_in_range(
    files: list[str], max_age_s: float | None, lo: float | None, hi: float | None
) -> list[str]:
    """Skip date partitions that cannot hold a usable value (after the last impression, or, with a
    TTL, before the first impression's TTL horizon). Pure pruning: the SQL re-checks every row."""
    if lo is None or hi is None:
        return []
    last_day = _utc_date(hi)
    first_day = _utc_date(lo - max_age_s) if max_age_s is not None else None
    kept = []
    for path in files:
        m = _DATE_DIR.search(Path(path).parent.name)
        day = m.group(1) if m else None
        if day is not None and (day > last_day or (first_day is not None and day < first_day)):
            continue
        kept.append(path)
    return kept


def _utc_date(ts: float) -> str:
    return dt.datetime.fromtimestamp(max(ts, 0.0), tz=dt.UTC).date().isoformat()


def _final_select(feature_sets: Sequence[FeatureSetSpec], window_s: float, watermark: float) -> str:
    base = ", ".join(f"imp.{sql_ident(c)}" for c in IMPRESSION_COLUMNS)
    labels = ", ".join(f"coalesce(lab.{sql_ident(c)}, false) AS {sql_ident(c)}" for c in LABELS.values())
    complete = f"(imp.ts + {sql_float(window_s)} <= {sql_float(watermark)}) AS {WINDOW_COMPLETE}"
    feats: list[str] = []
    joins: list[str] = []
    for i, spec in enumerate(feature_sets):
        t = f"fs{i}"
        for f in spec.features:
            value, value_ts = f"{t}.{sql_ident(f)}", f"{t}.{sql_ident(f + '__ts')}"
            if spec.max_age_s is not None:
                age_from = value_ts if spec.ttl_from == "feature" else f"{t}.{TS_COLUMN}"
                value = f"CASE WHEN imp.ts - {age_from} <= {sql_float(spec.max_age_s)} THEN {value} END"
            feats.append(f"{value} AS {sql_ident(spec.output_column(f))}")
        joins.append(f"ASOF LEFT JOIN {t} ON {t}.{KEY_COLUMN} = imp._k{i} AND imp.ts > {t}.{TS_COLUMN}")
    select = ", ".join([base, labels, complete, *feats])
    return (
        f"SELECT {select} FROM imp LEFT JOIN lab ON lab.imp_off = imp.impression_offset "
        + " ".join(joins)
        + " ORDER BY imp.ts, imp.impression_offset"
    )

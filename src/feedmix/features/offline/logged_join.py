"""Attaches the feature values serving logged to training rows, by (request_id, post_id).

Where a request was sampled by ``ServingFeatureLogSideEffect``, these are exactly the values the
model saw, so training on them has no training/serving skew at all; the point-in-time features of
``pit_join`` remain the fallback for the unsampled majority and for features added since.

Matching also requires the same ``user_id``: an event's ``request_id`` comes from the client, and
a wrong or replayed one must not hand one user's logged features to another user's impression.
If one (request, post, user) was logged twice (a replayed request), the latest row wins.
``<prefix>logged`` says whether a row matched, which separates "not sampled" from a NULL value.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from feedmix.features.offline.parquet_io import list_parquet_files, sql_file_list, sql_ident

JOIN_KEYS = ("request_id", "post_id", "user_id")
_ROW = "__training_row"


def join_logged_features(
    training_rows: pa.Table,
    served_log_dir: str | Path,
    *,
    prefix: str = "served.",
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """``training_rows`` (row order kept) plus ``<prefix><column>`` for each logged column.

    ``columns`` restricts which logged columns come along (default: all but the join keys); a
    requested column that was never logged comes back as NULL.
    """
    for key in JOIN_KEYS:
        if key not in training_rows.column_names:
            raise KeyError(f"training rows need a {key!r} column")
    logged_flag = prefix + "logged"
    files = list_parquet_files(Path(served_log_dir))
    con = duckdb.connect(config={"threads": 1})  # one core per job: the server shares the machine
    try:
        present = _logged_columns(con, files)
        wanted = [c for c in present if c not in JOIN_KEYS] if columns is None else list(columns)
        taken = set(training_rows.column_names)
        for out in [logged_flag, *(prefix + c for c in wanted)]:
            if out in taken:
                raise ValueError(f"column {out!r} already exists in the training rows; choose another prefix")
        con.register("t", training_rows.append_column(_ROW, pa.array(range(training_rows.num_rows))))
        if not files or not set(JOIN_KEYS) <= set(present):
            nulls = "".join(f", CAST(NULL AS DOUBLE) AS {sql_ident(prefix + c)}" for c in wanted)
            flag = sql_ident(logged_flag)
            sql = f"SELECT t.* EXCLUDE ({_ROW}), false AS {flag}{nulls} FROM t ORDER BY {_ROW}"
            return con.sql(sql).to_arrow_table()
        keys = ", ".join(JOIN_KEYS)
        selected = "".join(f", {_logged_value(c, present)} AS {sql_ident(prefix + c)}" for c in wanted)
        on = " AND ".join(f"s.{k} = t.{k}" for k in JOIN_KEYS)
        order = "ts DESC, _file DESC, _row DESC" if "ts" in present else "_file DESC, _row DESC"
        sql = f"""
            WITH s AS (
                SELECT * EXCLUDE (_rn) FROM (
                    SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY {order}) AS _rn
                    FROM (SELECT * EXCLUDE (file_row_number), file_row_number AS _row
                          FROM read_parquet({sql_file_list(files)}, union_by_name = true,
                                            filename = '_file', file_row_number = true))
                ) WHERE _rn = 1
            )
            SELECT t.* EXCLUDE ({_ROW}), s.request_id IS NOT NULL AS {sql_ident(logged_flag)}{selected}
            FROM t LEFT JOIN s ON {on}
            ORDER BY t.{_ROW}
        """
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()


def _logged_value(column: str, present: list[str]) -> str:
    return f"s.{sql_ident(column)}" if column in present else "CAST(NULL AS DOUBLE)"


def _logged_columns(con: duckdb.DuckDBPyConnection, files: list[str]) -> list[str]:
    if not files:
        return []
    rows = con.execute(
        f"DESCRIBE SELECT * FROM read_parquet({sql_file_list(files)}, union_by_name = true)"
    ).fetchall()
    return [str(r[0]) for r in rows]

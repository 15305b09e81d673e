"""Parquet files appear whole or not at all, and the feature store lays them out as documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from feedmix.features.offline import parquet_io
from feedmix.features.offline.feature_log import OfflineFeatureStore
from feedmix.features.offline.parquet_io import list_parquet_files, write_parquet_atomic

from .helpers import T0


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_a_failure_mid_write_leaves_no_parquet_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = pq.write_table

    def half_then_crash(table: pa.Table, where: Any, **kwargs: Any) -> None:
        real_write(table, where, **kwargs)
        data = Path(where).read_bytes()
        Path(where).write_bytes(data[: len(data) // 2])  # a torn file, as after a crash
        raise OSError("disk full")

    monkeypatch.setattr(parquet_io.pq, "write_table", half_then_crash)
    store = OfflineFeatureStore(tmp_path)
    with pytest.raises(OSError, match="disk full"):
        store.write("post", ["a", "b"], {"ctr": np.array([0.1, 0.2])}, T0)
    assert list_parquet_files(tmp_path) == []
    assert not [p for p in all_files(tmp_path) if p.name.endswith(".tmp")]  # cleaned up as well
    # a reader globbing the store sees nothing rather than failing on a torn file
    glob = f"SELECT count(*) FROM glob('{tmp_path}/**/*.parquet')"
    assert duckdb.connect().execute(glob).fetchall() == [(0,)]


def test_no_reader_sees_the_file_before_it_is_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = pq.write_table
    seen_during_write: list[list[str]] = []

    def write_and_look(table: pa.Table, where: Any, **kwargs: Any) -> None:
        real_write(table, where, **kwargs)
        seen_during_write.append(list_parquet_files(tmp_path))  # finished bytes, not yet renamed

    monkeypatch.setattr(parquet_io.pq, "write_table", write_and_look)
    target = tmp_path / "date=2013-08-19" / "x.parquet"
    write_parquet_atomic(pa.table({"a": [1, 2]}), target)
    assert seen_during_write == [[]]
    assert list_parquet_files(tmp_path) == [str(target)]
    assert pq.read_table(target).column("a").to_pylist() == [1, 2]


def test_layout_schema_and_date_partitions(tmp_path: Path) -> None:
    store = OfflineFeatureStore(tmp_path)
    # two rows before midnight UTC (2013-08-18), one after: two files, one per date
    ts = np.array([T0, T0 + 1, T0 + 120])
    paths = store.write(
        "post", np.array(["a", "b", "c"]), {"ctr": np.array([0.1, np.nan, 0.3]), "n": np.array([1, 2, 3])}, ts
    )
    assert sorted(p.parent.name for p in paths) == ["date=2013-08-18", "date=2013-08-19"]
    assert all(p.parent.parent.name == "entity=post" and p.name.startswith("part-") for p in paths)
    table = pa.concat_tables([pq.read_table(p) for p in sorted(paths)])
    assert table.schema.names == ["key", "event_ts", "ctr", "n"]
    assert table.schema.field("key").type == pa.string()
    assert table.schema.field("event_ts").type == pa.float64()
    assert table.column("ctr").to_pylist() == [0.1, None, 0.3]  # NaN is stored as "no value"
    assert store.write("post", [], {"ctr": np.array([])}, T0) == []


def test_file_names_sort_in_write_order(tmp_path: Path) -> None:
    store = OfflineFeatureStore(tmp_path, durable=False)
    written = [store.write("post", ["a"], {"ctr": np.array([float(i)])}, T0 + 120)[0] for i in range(20)]
    assert [str(p) for p in written] == store.files("post")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"entity": "Post"}, ValueError),
        ({"keys": np.array([1, 2])}, TypeError),
        ({"columns": {"key": np.array([1.0, 2.0])}}, ValueError),
        ({"columns": {"ctr": np.array([1.0])}}, ValueError),
        ({"columns": {}}, ValueError),
        ({"event_ts": np.array([T0, np.nan])}, ValueError),
        ({"event_ts": np.array([T0])}, ValueError),
    ],
)
def test_bad_writes_are_refused_before_anything_is_written(
    tmp_path: Path, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    args: dict[str, Any] = {
        "entity": "post",
        "keys": ["a", "b"],
        "columns": {"ctr": np.array([1.0, 2.0])},
        "event_ts": T0,
    }
    args.update(kwargs)
    with pytest.raises(error):
        OfflineFeatureStore(tmp_path).write(**args)
    assert all_files(tmp_path) == []

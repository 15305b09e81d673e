"""Missing values become the serving defaults in one explicit step, optionally with indicators."""

from __future__ import annotations

import pyarrow as pa
import pytest

from feedmix.features.offline.default_fill import fill_defaults


def test_fill_defaults_with_indicators() -> None:
    table = pa.table({"post.ctr": [0.2, None], "user.n": pa.array([None, None], type=pa.null()), "y": [1, 0]})
    out = fill_defaults(table, {"post.ctr": 0.0, "user.n": 0}, indicators=True)
    assert out.column_names == ["post.ctr", "post.ctr.missing", "user.n", "user.n.missing", "y"]
    assert out.column("post.ctr").to_pylist() == [0.2, 0.0]
    assert out.column("post.ctr.missing").to_pylist() == [False, True]
    assert out.column("user.n").to_pylist() == [0, 0]
    assert fill_defaults(table, {"post.ctr": -1.0}).column_names == table.column_names


def test_a_default_for_an_unknown_column_is_an_error_unless_lenient() -> None:
    table = pa.table({"a": [None, 1.0]})
    with pytest.raises(KeyError, match="renamed"):
        fill_defaults(table, {"renamed": 0.0})
    assert fill_defaults(table, {"renamed": 0.0}, strict=False).equals(table)

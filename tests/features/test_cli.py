"""``feedmix features list``: the registry as an aligned table, or as JSON."""

from __future__ import annotations

import json

import pytest

from feedmix import cli
from feedmix.features.definitions import default_registry


def test_features_list_prints_every_feature_as_an_aligned_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["features", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()

    header = lines[0].split()
    assert header == ["entity", "name", "dtype", "default", "ttl", "owner", "description"]
    rows = lines[1:]
    assert len(rows) == len(default_registry())
    # aligned: every column starts at the same offset on every line
    for column in ("name", "dtype", "default", "ttl", "owner", "description"):
        start = lines[0].index(column)
        assert all(row[start - 2 : start] == "  " and row[start] != " " for row in rows), column
    ctr = next(r for r in rows if r.startswith("post") and r.split()[1] == "ctr_1h")
    assert ctr.split()[2:6] == ["float32", "0.05", "169h", "feed-ranking"]
    assert "click-through rate of the post in the last 1h" in ctr


def test_features_list_json_matches_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["features", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)

    assert rows == json.loads(json.dumps(default_registry().as_rows()))
    assert {(r["entity"], r["name"]) for r in rows} >= {("post", "ctr_24h"), ("user_community", "clicks_24h")}
    assert set(rows[0]) == {"entity", "name", "dtype", "default", "ttl_s", "owner", "description"}


def test_features_needs_a_subcommand() -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["features"])
    assert exc.value.code == 2

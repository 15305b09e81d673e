"""The training-set build split into user shards, in this process and as Ray tasks on a real cluster
(``ray_executor``, started by the tests), gives the table of one pass: same rows, same order, same
values, same summary."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from feedmix import cli
from feedmix.events.backends import open_event_log
from feedmix.features.offline.pit_join import LABELS, user_shard_sql
from feedmix.features.offline.training_set import build_training_set
from feedmix.jobs.backends import make_executor
from feedmix.jobs.executor import Executor

from .test_training_set import POST_COMMUNITY, START, make_events, run_aggregator

WINDOW = 3600.0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("partitions")
    events, exact = make_events(random.Random(16))
    url = f"sqlite:///{root / 'events.db'}"
    log = open_event_log(url)
    log.append(events)
    log.close()
    run_aggregator(events, sorted({*(START + 600.0 * k for k in range(31)), *exact}), root / "features")
    communities = pa.table({"post_id": list(POST_COMMUNITY), "community": list(POST_COMMUNITY.values())})
    return {"url": url, "root": root, "communities": communities}


def build(
    world: dict[str, Any], name: str, executor: Executor, partitions: int
) -> tuple[pa.Table, dict[str, Any]]:
    root: Path = world["root"]
    summary = build_training_set(
        world["url"],
        root / "features",
        root / f"{name}.parquet",
        WINDOW,
        post_communities=world["communities"],
        work_dir=root / f"export-{name}",
        progress=False,
        executor=executor,
        partitions=partitions,
    )
    return pq.read_table(root / f"{name}.parquet"), summary


def comparable(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary less what names the run: its time, its export directory and its executor."""
    out = {k: v for k, v in summary.items() if k not in ("seconds", "out", "executor")}
    out["events"] = {k: v for k, v in summary["events"].items() if k != "dir"}
    return out


@pytest.fixture(scope="module")
def one_pass(world: dict[str, Any]) -> tuple[pa.Table, dict[str, Any]]:
    table, summary = build(world, "one-pass", make_executor("local"), 1)
    assert summary["executor"] == {"name": "local", "partitions": 1}
    # a table worth comparing: every label the events make, features known and missing
    made = set(LABELS.values()) - {"commented"}
    assert table.num_rows > 200 and all(summary["positives"][c] > 0 for c in made)
    assert 0 < summary["missing_rate"]["f.impressions_24h"] < 1
    return table, summary


@pytest.mark.parametrize("partitions", [2, 3, 8])
def test_user_shards_in_this_process_give_the_one_pass_table(
    world: dict[str, Any], one_pass: tuple[pa.Table, dict[str, Any]], partitions: int
) -> None:
    table, summary = build(world, f"local-{partitions}", make_executor("local"), partitions)
    assert summary["executor"] == {"name": "local", "partitions": partitions}
    assert table.equals(one_pass[0])  # 8 shards of 6 users: some are empty, and still concatenate
    assert comparable(summary) == comparable(one_pass[1])


def test_every_user_lands_in_exactly_one_shard() -> None:
    import duckdb

    users = pa.table({"user_id": [f"u{i}" for i in range(500)] + [None]})
    con = duckdb.connect()
    con.register("ev", users)
    hits = [
        {r[0] for r in con.execute(f"SELECT user_id FROM ev WHERE {user_shard_sql((i, 5))}").fetchall()}
        for i in range(5)
    ]
    assert sum(len(h) for h in hits) == 501 and set().union(*hits) == {*users.column(0).to_pylist()}
    assert min(len(h) for h in hits) > 50  # spread, not all in one shard
    with pytest.raises(ValueError, match="does not exist"):
        user_shard_sql((5, 5))


def test_ray_tasks_give_the_one_pass_table(
    world: dict[str, Any], one_pass: tuple[pa.Table, dict[str, Any]], ray_executor: Executor
) -> None:
    table, summary = build(world, "ray", ray_executor, 3)
    assert summary["executor"] == {"name": "ray", "partitions": 3}
    assert table.equals(one_pass[0])
    assert comparable(summary) == comparable(one_pass[1])


def test_the_config_sends_the_cli_build_to_ray(
    world: dict[str, Any],
    one_pass: tuple[pa.Table, dict[str, Any]],
    ray_executor: Executor,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    address = getattr(ray_executor, "address")  # noqa: B009 - not part of the Executor protocol
    config = tmp_path / "feedmix.toml"
    config.write_text(f'[jobs]\nexecutor = "ray"\nray_address = "{address}"\n')
    communities = tmp_path / "communities.parquet"
    pq.write_table(world["communities"], communities)
    args = ["--events", world["url"], "--offline", str(world["root"] / "features"), "--quiet"]
    args += ["--out", str(tmp_path / "cli.parquet"), "--post-communities", str(communities)]
    args += ["--work-dir", str(tmp_path / "export"), "--label-window", str(WINDOW), "--partitions", "2"]
    assert cli.main(["features", "training-set", *args, "--config", str(config)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["executor"] == {"name": "ray", "partitions": 2}
    assert pq.read_table(tmp_path / "cli.parquet").equals(one_pass[0])
    # the flag wins over the config
    assert cli.main(["features", "training-set", *args, "--config", str(config), "--executor", "local"]) == 0
    assert json.loads(capsys.readouterr().out)["executor"] == {"name": "local", "partitions": 2}


def test_a_ray_executor_without_an_address_is_refused(
    world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    args = ["--events", world["url"], "--offline", str(world["root"]), "--out", str(tmp_path / "x.parquet")]
    assert cli.main(["features", "training-set", *args, "--executor", "ray"]) == 2
    assert "needs the cluster's address" in capsys.readouterr().err
    assert not (tmp_path / "x.parquet").exists()

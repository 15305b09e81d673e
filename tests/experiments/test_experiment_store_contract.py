"""The experiment store's contract, on SQLite and on PostgreSQL: the same tests, the same answers."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from feedmix.experiments import migrations, rules
from feedmix.experiments.model import ExperimentError, NotFound
from feedmix.experiments.sql_experiment_store import TABLES, SqlExperimentStore
from tests.experiments.factories import make_experiment


def test_create_get_list(store: SqlExperimentStore) -> None:
    a = store.create(make_experiment("a"), now=10.0)
    b = store.create(make_experiment("b", {"trending.limit": 5}), now=20.0)
    assert a.status == "draft" and a.created_ts == 10.0 and a.revision >= 1
    assert store.get("a") == a
    assert [e.experiment_id for e in store.list()] == ["b", "a"]
    assert store.list(["running"]) == []
    with pytest.raises(NotFound) as err:
        store.get("zzz")
    assert err.value.status == 404
    with pytest.raises(ExperimentError, match="already exists"):
        store.create(make_experiment("a"), now=30.0)
    assert b.revision > a.revision


def test_update_applies_rules_in_one_transaction_and_writes_nothing_on_refusal(
    store: SqlExperimentStore,
) -> None:
    store.create(make_experiment("a", allocation=0.7), now=1.0)
    store.create(make_experiment("b", {"ranker.w_click": 3.0}, allocation=0.4), now=1.0)
    started = store.update("a", lambda e, run, h: rules.start(e, run, h, now=2.0))
    assert started.status == "running" and started.range_start == 0.0
    rev = store.revision()
    with pytest.raises(ExperimentError, match="free"):
        store.update("b", lambda e, run, h: rules.start(e, run, h, now=3.0))
    assert store.get("b").status == "draft"
    assert store.revision() == rev  # the refused change bumped nothing
    snap = store.snapshot()
    assert snap.revision == rev and [e.experiment_id for e in snap.running] == ["a"]


def test_holdouts(store: SqlExperimentStore) -> None:
    assert store.holdouts() == {}
    store.set_holdout("global", 0.05)
    store.set_holdout("ranking", 0.1)
    assert store.holdouts() == {"global": 0.05, "ranking": 0.1}
    store.create(make_experiment("a", allocation=0.5), now=1.0)
    store.update("a", lambda e, run, h: rules.start(e, run, h, now=2.0))
    assert store.get("a").range_start == pytest.approx(0.1)
    with pytest.raises(ExperimentError):
        store.set_holdout("ranking", 0.3)
    assert store.holdouts()["ranking"] == 0.1


def test_concurrent_starts_never_overfill_a_layer(open_store: Callable[[], SqlExperimentStore]) -> None:
    setup = open_store()
    for i in range(6):
        setup.create(make_experiment(f"e{i}", {f"source{i}.limit": 10}, allocation=0.3), now=1.0)
    stores = [open_store() for _ in range(6)]
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def start(i: int) -> None:
        barrier.wait()
        try:
            stores[i].update(f"e{i}", lambda e, run, h: rules.start(e, run, h, now=2.0))
            outcomes.append("ok")
        except ExperimentError:
            outcomes.append("refused")

    threads = [threading.Thread(target=start, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    running = setup.list(["running"])
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 3
    slices = sorted((e.range_start or 0.0, (e.range_start or 0.0) + e.allocation) for e in running)
    assert all(a[1] <= b[0] + 1e-9 for a, b in itertools.pairwise(slices))


def test_the_migrated_schema_matches_the_tables_the_store_queries(store: SqlExperimentStore) -> None:
    with store._engine.connect() as conn:
        inspector = sa.inspect(conn)
        for table in TABLES:
            columns = {c["name"] for c in inspector.get_columns(table.name)}
            assert columns == {c.name for c in table.columns}, table.name
        assert migrations.HISTORY.applied_versions(conn) == [m.version for m in migrations.MIGRATIONS]


def test_reopening_keeps_everything_and_migrates_nothing(
    store: SqlExperimentStore, open_store: Callable[[], SqlExperimentStore]
) -> None:
    a = store.create(make_experiment("a"), now=1.0)
    again = open_store()
    assert again.get("a") == a
    assert migrations.HISTORY.migrate(again._writer) == []

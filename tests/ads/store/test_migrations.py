"""Schema migrations: ordered, recorded, idempotent, and the result matches what the store queries."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from feedmix.ads.store import migrations
from feedmix.ads.store.backends import open_campaign_store
from feedmix.ads.store.sql_campaign_store import TABLES, SqlCampaignStore


def _versions(store: SqlCampaignStore) -> list[int]:
    with store._engine.connect() as conn:
        return list(migrations.applied_versions(conn))


def test_a_new_database_gets_every_step_once(store: SqlCampaignStore) -> None:
    assert _versions(store) == [m.version for m in migrations.MIGRATIONS]
    assert _versions(store)[-1] == migrations.LATEST_VERSION


def test_migrating_again_changes_nothing(store: SqlCampaignStore, store_url: str) -> None:
    adv, _ = store.create_advertiser("acme")

    assert migrations.migrate(store._writer) == []
    assert migrations.migrate(store._writer) == []
    again = open_campaign_store(store_url)
    try:
        assert _versions(again) == [m.version for m in migrations.MIGRATIONS]
        assert again.get_advertiser(adv.advertiser_id) == adv
    finally:
        again.close()


def test_the_migrated_schema_matches_the_tables_the_store_queries(store: SqlCampaignStore) -> None:
    with store._engine.connect() as conn:
        inspector = sa.inspect(conn)
        for table in TABLES:
            columns = {c["name"]: c for c in inspector.get_columns(table.name)}
            assert set(columns) == {c.name for c in table.columns}, table.name
            for column in table.columns:
                assert columns[column.name]["nullable"] is False, f"{table.name}.{column.name}"
            pk = inspector.get_pk_constraint(table.name)["constrained_columns"]
            assert sorted(pk) == sorted(c.name for c in table.primary_key.columns), table.name


def test_pending_steps_apply_in_order_on_an_older_database(store: SqlCampaignStore) -> None:
    extra = migrations.Migration(
        migrations.LATEST_VERSION + 1,
        "test step",
        ["CREATE TABLE ads_test_extra (x BIGINT NOT NULL)"],
    )
    assert migrations.migrate(store._writer, [*migrations.MIGRATIONS, extra]) == [extra.version]
    assert migrations.migrate(store._writer, [*migrations.MIGRATIONS, extra]) == []
    with store._engine.connect() as conn:
        assert sa.inspect(conn).has_table("ads_test_extra")


def test_a_failing_step_leaves_no_trace(store: SqlCampaignStore) -> None:
    bad = migrations.Migration(
        migrations.LATEST_VERSION + 1,
        "half done",
        ["CREATE TABLE ads_test_half (x BIGINT)", "THIS IS NOT SQL"],
    )
    with pytest.raises(sa.exc.DBAPIError):
        migrations.migrate(store._writer, [*migrations.MIGRATIONS, bad])
    assert _versions(store)[-1] == migrations.LATEST_VERSION
    with store._engine.connect() as conn:
        assert not sa.inspect(conn).has_table("ads_test_half")


def test_a_database_from_newer_code_is_refused(store: SqlCampaignStore, store_url: str) -> None:
    with store._writer.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO ads_schema_version (version, description, applied_ts) VALUES (999, 'x', 0)")
        )
    with pytest.raises(RuntimeError, match="999"):
        open_campaign_store(store_url)


def test_opening_without_migrating_needs_an_up_to_date_schema(store_url: str) -> None:
    with pytest.raises(RuntimeError, match="version 0"):
        open_campaign_store(store_url, migrate=False)
    open_campaign_store(store_url).close()
    open_campaign_store(store_url, migrate=False).close()


def test_versions_must_be_ascending_and_unique(store: SqlCampaignStore) -> None:
    step = migrations.MIGRATIONS[0]
    with pytest.raises(ValueError, match="ascending"):
        migrations.migrate(store._writer, [step, step])


def test_stores_opened_at_once_migrate_once(store_url: str) -> None:
    opened: list[SqlCampaignStore] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_one() -> None:
        try:
            barrier.wait()
            opened.append(open_campaign_store(store_url))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert _versions(opened[0]) == [m.version for m in migrations.MIGRATIONS]
    finally:
        for s in opened:
            s.close()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///",
        "sqlite:///:memory:",
        "sqlite:///ads.db?mode=ro",
        "mysql://x/y",
        "memory://",
        "postgresql://u@h/db?schema=Bad-Name",
        "postgresql://u@h/db?schema=a&schema=b",
    ],
)
def test_bad_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError):
        open_campaign_store(url)


def test_default_url_is_a_file_in_the_state_dir(tmp_path: Any) -> None:
    from feedmix.ads.store.backends import default_campaign_store_url

    url = default_campaign_store_url(tmp_path / "state")
    assert url == f"sqlite:///{(tmp_path / 'state' / 'ads.db').resolve()}"
    open_campaign_store(url).close()
    assert (tmp_path / "state" / "ads.db").exists()

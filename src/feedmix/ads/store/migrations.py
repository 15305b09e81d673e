"""Schema migrations of the campaign store: an ordered list of versioned steps, same on SQLite and PostgreSQL.

Why hand-written steps instead of ``metadata.create_all``: a deployed database must move from the
schema it has to the one the code expects, step by step, and every step must be the same on both
backends. Each step is plain DDL in the subset both dialects accept (``TEXT``, ``BIGINT``,
``DOUBLE PRECISION``, ``DATE``), frozen once released: a later change is a new step, never an edit.

Applied versions are recorded in ``ads_schema_version`` (one row per step, with when and what). The
table carries the ``ads_`` prefix like every table here, so the ads schema can share a PostgreSQL
database (or schema) with other components' tables without colliding with their bookkeeping.

``migrate`` runs all pending steps in one transaction that holds the database's write lock
(``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL), so two processes
starting at once apply each step exactly once, and a failing step leaves the schema as it was: both
backends have transactional DDL.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

#: an arbitrary constant for ``pg_advisory_xact_lock``: "ads migrate"
PG_LOCK_KEY = 0x0AD5_3167


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: Sequence[str]


def _initial_schema() -> list[str]:
    return [
        """
        CREATE TABLE ads_advertisers (
            advertiser_id TEXT NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            api_key_hash TEXT NOT NULL UNIQUE,
            created_ts DOUBLE PRECISION NOT NULL,
            revision BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE ads_campaigns (
            campaign_id TEXT NOT NULL PRIMARY KEY,
            advertiser_id TEXT NOT NULL REFERENCES ads_advertisers (advertiser_id),
            name TEXT NOT NULL,
            objective TEXT NOT NULL,
            budget_kind TEXT NOT NULL,
            budget_micros BIGINT NOT NULL,
            start_ts DOUBLE PRECISION NOT NULL,
            end_ts DOUBLE PRECISION NOT NULL,
            status TEXT NOT NULL,
            revision BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE ads_ad_groups (
            ad_group_id TEXT NOT NULL PRIMARY KEY,
            campaign_id TEXT NOT NULL REFERENCES ads_campaigns (campaign_id),
            advertiser_id TEXT NOT NULL REFERENCES ads_advertisers (advertiser_id),
            name TEXT NOT NULL,
            bid_kind TEXT NOT NULL,
            bid_micros BIGINT NOT NULL,
            targeting TEXT NOT NULL,
            frequency_max_impressions BIGINT NOT NULL,
            frequency_window_s DOUBLE PRECISION NOT NULL,
            safety_tier TEXT NOT NULL,
            schedule_hours TEXT NOT NULL,
            status TEXT NOT NULL,
            revision BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE ads_ads (
            ad_id TEXT NOT NULL PRIMARY KEY,
            ad_group_id TEXT NOT NULL REFERENCES ads_ad_groups (ad_group_id),
            advertiser_id TEXT NOT NULL REFERENCES ads_advertisers (advertiser_id),
            headline TEXT NOT NULL,
            body TEXT NOT NULL,
            click_url TEXT NOT NULL,
            call_to_action TEXT NOT NULL,
            image_sha256 TEXT NOT NULL,
            status TEXT NOT NULL,
            revision BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE ads_daily_stats (
            campaign_id TEXT NOT NULL,
            ad_group_id TEXT NOT NULL,
            day DATE NOT NULL,
            impressions BIGINT NOT NULL,
            clicks BIGINT NOT NULL,
            spend_micros BIGINT NOT NULL,
            PRIMARY KEY (campaign_id, ad_group_id, day)
        )
        """,
        "CREATE TABLE ads_revision (id INTEGER NOT NULL PRIMARY KEY, value BIGINT NOT NULL)",
        "INSERT INTO ads_revision (id, value) VALUES (1, 0)",
    ]


#: every step ever released, in order; append only
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "advertisers, campaigns, ad groups, ads, daily stats, revision", _initial_schema()),
    Migration(
        2,
        "indexes for per-advertiser listings and the active snapshot",
        [
            "CREATE INDEX ads_campaigns_by_advertiser ON ads_campaigns (advertiser_id)",
            "CREATE INDEX ads_ad_groups_by_campaign ON ads_ad_groups (campaign_id)",
            "CREATE INDEX ads_ad_groups_by_advertiser ON ads_ad_groups (advertiser_id)",
            "CREATE INDEX ads_ads_by_ad_group ON ads_ads (ad_group_id)",
            "CREATE INDEX ads_ads_by_advertiser ON ads_ads (advertiser_id)",
            "CREATE INDEX ads_daily_stats_by_day ON ads_daily_stats (day)",
        ],
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS ads_schema_version (
    version INTEGER NOT NULL PRIMARY KEY,
    description TEXT NOT NULL,
    applied_ts DOUBLE PRECISION NOT NULL
)
"""


def applied_versions(conn: sa.Connection) -> list[int]:
    """The versions recorded as applied, ascending (empty before the first ``migrate``)."""
    if not sa.inspect(conn).has_table("ads_schema_version"):
        return []
    rows = conn.exec_driver_sql("SELECT version FROM ads_schema_version ORDER BY version")
    return [int(r[0]) for r in rows]


def migrate(
    engine: sa.Engine,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> list[int]:
    """Apply the pending steps in order; returns the versions applied now (empty when up to date).

    ``engine`` must open write transactions (the campaign store passes its writer engine, which
    begins SQLite transactions with ``BEGIN IMMEDIATE``). Raises ``RuntimeError`` when the database
    records a version this code does not know: it was migrated by newer code, and running older code
    against it could corrupt it.
    """
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)):
        raise ValueError(f"migration versions must be unique and ascending, got {versions}")
    known = set(versions)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
        conn.exec_driver_sql(_VERSION_TABLE)
        done = set(applied_versions(conn))
        unknown = sorted(done - known)
        if unknown:
            raise RuntimeError(
                f"the ads database has schema versions {unknown} that this code does not know "
                f"(latest known: {max(known, default=0)}); upgrade feedmix"
            )
        applied: list[int] = []
        for step in migrations:
            if step.version in done:
                continue
            for statement in step.statements:
                conn.exec_driver_sql(statement)
            conn.execute(
                sa.text(
                    "INSERT INTO ads_schema_version (version, description, applied_ts) VALUES (:v, :d, :t)"
                ),
                {"v": step.version, "d": step.description, "t": time.time()},
            )
            applied.append(step.version)
        return applied

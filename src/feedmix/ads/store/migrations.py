"""Schema migrations of the campaign store: its released steps, in order, the same on SQLite and PostgreSQL.

Applied versions are recorded in ``ads_schema_version`` (one row per step, with when and what). The
table carries the ``ads_`` prefix like every table here, so the ads schema can share a PostgreSQL
database (or schema) with other stores' tables. How steps are applied (one transaction under the
database's write lock, frozen steps, newer schemas refused) is :mod:`feedmix.sql.migrations`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from feedmix.sql.migrations import Migration, MigrationHistory

#: an arbitrary constant for ``pg_advisory_xact_lock``: "ads migrate"
PG_LOCK_KEY = 0x0AD5_3167


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

HISTORY = MigrationHistory("ads", MIGRATIONS, PG_LOCK_KEY)
LATEST_VERSION = HISTORY.latest


def applied_versions(conn: sa.Connection) -> list[int]:
    """The versions recorded as applied, ascending (empty before the first ``migrate``)."""
    return HISTORY.applied_versions(conn)


def migrate(engine: sa.Engine, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply the pending steps in order (see :meth:`MigrationHistory.migrate`)."""
    return HISTORY.migrate(engine, migrations)

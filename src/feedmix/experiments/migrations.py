"""Schema migrations of the experiment store: its released steps, in order, the same on SQLite and PostgreSQL.

A definition is stored whole as JSON beside the columns that are queried (status, layer): the shape
of an experiment grows with features (targeting, guardrails) and a JSON body lets it grow without a
migration per field, while a reader never has to join five tables to rebuild one experiment. How
steps are applied is :mod:`feedmix.sql.migrations`.
"""

from __future__ import annotations

from feedmix.sql.migrations import Migration, MigrationHistory

#: an arbitrary constant for ``pg_advisory_xact_lock``: "experiments migrate"
PG_LOCK_KEY = 0x0E5B_1A7E

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "experiments, holdouts, revision",
        [
            """
            CREATE TABLE exp_experiments (
                experiment_id TEXT NOT NULL PRIMARY KEY,
                status TEXT NOT NULL,
                layer TEXT NOT NULL,
                body TEXT NOT NULL,
                created_ts DOUBLE PRECISION NOT NULL,
                revision BIGINT NOT NULL
            )
            """,
            "CREATE INDEX exp_experiments_by_status ON exp_experiments (status)",
            """
            CREATE TABLE exp_holdouts (
                scope TEXT NOT NULL PRIMARY KEY,
                share DOUBLE PRECISION NOT NULL,
                revision BIGINT NOT NULL
            )
            """,
            "CREATE TABLE exp_revision (id INTEGER NOT NULL PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO exp_revision (id, value) VALUES (1, 0)",
        ],
    ),
    Migration(
        2,
        "request guardrails: per variant, day and latency bucket, requests and degraded requests",
        [
            """
            CREATE TABLE exp_request_stats (
                experiment_id TEXT NOT NULL,
                bucket_version INTEGER NOT NULL,
                variant TEXT NOT NULL,
                day BIGINT NOT NULL,
                bucket INTEGER NOT NULL,
                requests BIGINT NOT NULL,
                degraded BIGINT NOT NULL,
                PRIMARY KEY (experiment_id, bucket_version, variant, day, bucket)
            )
            """,
        ],
    ),
)

HISTORY = MigrationHistory("exp", MIGRATIONS, PG_LOCK_KEY)

"""Versioned schema migrations for a SQL store: an ordered list of steps, the same on SQLite and PostgreSQL.

Why hand-written steps instead of ``metadata.create_all``: a deployed database must move from the
schema it has to the one the code expects, step by step, and every step must be the same on both
backends. Each step is plain DDL in the subset both dialects accept (``TEXT``, ``BIGINT``,
``DOUBLE PRECISION``, ``DATE``), frozen once released: a later change is a new step, never an edit.

Each store has its own history (``MigrationHistory``): its own version table, named with the store's
table prefix (``ads_schema_version``, ``exp_schema_version``), so stores can share a PostgreSQL
database (or schema) without colliding, and its own advisory-lock key.

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


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: Sequence[str]


@dataclass(frozen=True)
class MigrationHistory:
    """One store's released steps and where it records them."""

    #: the store's table prefix and name in messages ("ads", "exp")
    prefix: str
    steps: tuple[Migration, ...]
    #: a constant for ``pg_advisory_xact_lock``, distinct per store
    lock_key: int

    @property
    def version_table(self) -> str:
        return f"{self.prefix}_schema_version"

    @property
    def latest(self) -> int:
        return self.steps[-1].version

    def applied_versions(self, conn: sa.Connection) -> list[int]:
        """The versions recorded as applied, ascending (empty before the first ``migrate``)."""
        if not sa.inspect(conn).has_table(self.version_table):
            return []
        rows = conn.exec_driver_sql(f"SELECT version FROM {self.version_table} ORDER BY version")
        return [int(r[0]) for r in rows]

    def migrate(self, engine: sa.Engine, steps: Sequence[Migration] | None = None) -> list[int]:
        """Apply the pending steps in order; returns the versions applied now (empty when up to date).

        ``engine`` must open write transactions (a store passes its writer engine, which begins
        SQLite transactions with ``BEGIN IMMEDIATE``). Raises ``RuntimeError`` when the database
        records a version this code does not know: it was migrated by newer code, and running older
        code against it could corrupt it.
        """
        steps = self.steps if steps is None else tuple(steps)
        versions = [m.version for m in steps]
        if versions != sorted(set(versions)):
            raise ValueError(f"migration versions must be unique and ascending, got {versions}")
        known = set(versions)
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": self.lock_key})
            conn.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {self.version_table} (version INTEGER NOT NULL PRIMARY KEY, "
                "description TEXT NOT NULL, applied_ts DOUBLE PRECISION NOT NULL)"
            )
            done = set(self.applied_versions(conn))
            unknown = sorted(done - known)
            if unknown:
                raise RuntimeError(
                    f"the {self.prefix} database has schema versions {unknown} that this code does not "
                    f"know (latest known: {max(known, default=0)}); upgrade feedmix"
                )
            applied: list[int] = []
            for step in steps:
                if step.version in done:
                    continue
                for statement in step.statements:
                    conn.exec_driver_sql(statement)
                conn.execute(
                    sa.text(
                        f"INSERT INTO {self.version_table} (version, description, applied_ts) "
                        "VALUES (:v, :d, :t)"
                    ),
                    {"v": step.version, "d": step.description, "t": time.time()},
                )
                applied.append(step.version)
            return applied

    def open(self, engine: sa.Engine, write_engine: sa.Engine, migrate: bool) -> None:
        """What a store does when it opens: migrate, or (``migrate=False``: a read replica, a tool that
        only inspects) check that the schema is at the version this code expects."""
        if migrate:
            self.migrate(write_engine)
            return
        with engine.connect() as conn:
            have = self.applied_versions(conn)
        if not have or have[-1] != self.latest:
            raise RuntimeError(
                f"{self.prefix} schema is at version {have[-1] if have else 0}, this code needs "
                f"{self.latest}; open with migrate=True"
            )

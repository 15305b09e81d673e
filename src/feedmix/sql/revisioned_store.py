"""The plumbing of a SQL store whose every write bumps one store-wide revision (campaigns, experiments).

Readers that poll (the ad server, the experiment assigner) read one row to learn whether anything
changed. Writers bump that row *first* in their transaction: the row lock (PostgreSQL) or the write
lock taken by ``BEGIN IMMEDIATE`` (SQLite) then serialises every writer, so a rule that looks at the
rest of the store before it writes (a free slice of a layer, a budget) decides on the truth.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from feedmix.sql.engines import SqlTarget, create_engine, writer
from feedmix.sql.migrations import MigrationHistory


class RevisionedStore:
    """Thread-safe: a connection pool, one transaction per call. ``revision_table`` has one row, id 1."""

    def __init__(
        self, target: SqlTarget, history: MigrationHistory, revision_table: sa.Table, *, migrate: bool
    ) -> None:
        self.url = target.url
        self.schema = target.schema
        self.dialect = target.dialect
        self._revision_t = revision_table
        self._engine = create_engine(target, history.lock_key)
        # SQLite: writes begin with BEGIN IMMEDIATE (see feedmix.sql.engines); elsewhere the same engine
        self._writer = writer(self._engine)
        history.open(self._engine, self._writer, migrate)

    @contextmanager
    def _write(self) -> Iterator[tuple[sa.Connection, int]]:
        """A write transaction and the revision it stamps (bumped first: it also takes the lock)."""
        rev_t = self._revision_t
        with self._writer.begin() as conn:
            conn.execute(rev_t.update().where(rev_t.c.id == 1).values(value=rev_t.c.value + 1))
            yield conn, self._current(conn)

    @contextmanager
    def _read(self, consistent: bool = False) -> Iterator[sa.Connection]:
        """A read transaction; ``consistent``: every statement sees the same snapshot.

        SQLite's read transactions always do (WAL); PostgreSQL's default READ COMMITTED does not, so
        a consistent read asks for REPEATABLE READ.
        """
        with self._engine.connect() as conn:
            if consistent and self.dialect == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def _add(
        self, table: sa.Table, keys: Sequence[str], counts: Sequence[str], rows: list[dict[str, Any]]
    ) -> None:
        """Add ``rows``' counts to ``table`` in one transaction, without bumping the revision (counts are
        data, not definitions): ``INSERT ... ON CONFLICT (keys) DO UPDATE SET c = c + excluded.c``, so the
        database adds under its row lock and no increment is lost to a concurrent writer. Callers sort
        ``rows`` by key, so concurrent batches take their row locks in the same order."""
        if not rows:
            return
        insert = sqlite_dialect.insert if self.dialect == "sqlite" else pg_dialect.insert
        stmt = insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys],
            set_={c: table.c[c] + stmt.excluded[c] for c in counts},
        )
        with self._writer.begin() as conn:
            conn.execute(stmt, rows)

    def _current(self, conn: sa.Connection) -> int:
        rev_t = self._revision_t
        return int(conn.execute(sa.select(rev_t.c.value).where(rev_t.c.id == 1)).scalar_one())

    def revision(self) -> int:
        """The store-wide revision: unchanged means nothing changed."""
        with self._read() as conn:
            return self._current(conn)

    def close(self) -> None:
        self._engine.dispose()

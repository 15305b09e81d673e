"""SQLAlchemy engines for the SQL stores, opened by URL, with the same transaction behaviour on both backends.

* ``sqlite:///<path>``: a file (pooled connections must share the data), WAL journal so readers never
  wait for a writer, and write transactions that take the write lock up front (see ``sqlite_engine``);
* ``postgresql://user@host:port/db`` (``postgres://`` and ``postgresql+psycopg://`` too), with the option
  ``?schema=name`` to keep a store's tables in their own PostgreSQL schema (created if missing): that is
  how the tests isolate a run and how two deployments share one database.

Every store writes through ``writer(engine)``: on SQLite its transactions begin with ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: the execution option that makes a SQLite transaction begin with ``BEGIN IMMEDIATE``
WRITE_OPTION = "feedmix_write"


@dataclass(frozen=True)
class SqlTarget:
    """Where a store's tables live: the SQLAlchemy URL and, on PostgreSQL, an optional schema."""

    url: sa.URL
    schema: str | None = None

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()


def parse_sql_url(url: str, what: str) -> SqlTarget:
    """The target for ``url``; ``what`` names the store in the error ("campaign store")."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if not path or "?" in path or path == ":memory:":
            raise ValueError(
                f"expected sqlite:///<path> (a file: pooled connections must share the data), got {url!r}"
            )
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqlTarget(sa.make_url(f"sqlite:///{path}"))
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            sa_url = sa.make_url("postgresql+psycopg://" + url.removeprefix(prefix))
            schema = sa_url.query.get("schema")
            if isinstance(schema, tuple):
                raise ValueError(f"schema given twice in {url!r}")
            if schema is not None and not _SCHEMA_NAME.match(schema):
                raise ValueError(f"schema must match {_SCHEMA_NAME.pattern}, got {schema!r}")
            return SqlTarget(sa_url.difference_update_query(["schema"]), schema)
    raise ValueError(f"unsupported {what} URL {url!r} (use sqlite:///<path> or postgresql://...)")


def create_engine(target: SqlTarget, lock_key: int) -> sa.Engine:
    """The engine for ``target``; on PostgreSQL with a schema, the schema is created first (under the
    store's advisory lock ``lock_key``: ``IF NOT EXISTS`` still races with a concurrent creator)."""
    if target.dialect == "sqlite":
        return sqlite_engine(target.url)
    if target.dialect != "postgresql":  # pragma: no cover - parse_sql_url only builds the two
        raise ValueError(f"unsupported dialect {target.dialect}")
    connect_args: dict[str, Any] = {"connect_timeout": 5}
    if target.schema:
        connect_args["options"] = f"-csearch_path={target.schema}"
    engine = sa.create_engine(target.url, connect_args=connect_args, pool_pre_ping=True)
    if target.schema:
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{target.schema}"')
    return engine


def writer(engine: sa.Engine) -> sa.Engine:
    """The engine's write view: on SQLite its transactions take the write lock when they begin."""
    return engine.execution_options(**{WRITE_OPTION: True})


def sqlite_engine(url: sa.URL) -> sa.Engine:
    """A SQLite engine in WAL mode whose write transactions take the write lock up front.

    pysqlite's own transaction handling begins lazily and would let two writers both start with a
    read lock and then deadlock upgrading it (one fails at once with "database is locked"). So the
    driver is put in autocommit mode and SQLAlchemy's ``begin`` emits ``BEGIN`` for reads and
    ``BEGIN IMMEDIATE`` for writes (engines from ``writer``): writers queue on the busy timeout,
    readers never wait (WAL).
    """
    engine = sa.create_engine(url, connect_args={"timeout": 30.0, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        _set_wal(cur)
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _set_wal(cur: Any, attempts: int = 40) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another connection holds the lock it needs.

    Switching the journal mode takes an exclusive lock and SQLite answers "database is locked" at
    once instead of waiting on the busy timeout, so several threads opening one new file together
    (the ad server and the API at startup) would fail about one start in fifteen without this.
    """
    for attempt in range(attempts):
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(min(0.005 * (attempt + 1), 0.05))

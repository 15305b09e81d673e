"""Campaign store backends by URL: the one module that knows them, so the interface
(:mod:`feedmix.ads.store.campaign_store`) and its users stay free of SQLAlchemy.

* ``sqlite:///<path>`` (relative) or ``sqlite:////<absolute path>`` - the default,
  ``sqlite:///<state_dir>/ads.db``;
* ``postgresql://user@host:port/db`` (``postgres://`` and ``postgresql+psycopg://`` too), with the
  option ``?schema=name`` to keep the tables in their own PostgreSQL schema (created if missing).
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from feedmix.ads.store.sql_campaign_store import SqlCampaignStore

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def default_campaign_store_url(state_dir: str | Path) -> str:
    """``sqlite:///<state_dir>/ads.db`` with the state directory made absolute."""
    return f"sqlite:///{Path(state_dir).resolve() / 'ads.db'}"


def open_campaign_store(url: str, *, migrate: bool = True) -> SqlCampaignStore:
    """The store for ``url`` (see the module doc), with its schema migrated to the latest version.

    ``migrate=False`` opens without touching the schema (a read replica, or a tool that only
    inspects) and fails with ``RuntimeError`` if the schema is not at the version this code expects.
    """
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if not path or "?" in path or path == ":memory:":
            raise ValueError(
                f"expected sqlite:///<path> (a file: pooled connections must share the data), got {url!r}"
            )
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqlCampaignStore(sa.make_url(f"sqlite:///{path}"), migrate=migrate)
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            sa_url = sa.make_url("postgresql+psycopg://" + url.removeprefix(prefix))
            schema = sa_url.query.get("schema")
            if isinstance(schema, tuple):
                raise ValueError(f"schema given twice in {url!r}")
            if schema is not None and not _SCHEMA_NAME.match(schema):
                raise ValueError(f"schema must match {_SCHEMA_NAME.pattern}, got {schema!r}")
            return SqlCampaignStore(
                sa_url.difference_update_query(["schema"]), schema=schema, migrate=migrate
            )
    raise ValueError(f"unsupported campaign store URL {url!r} (use sqlite:///<path> or postgresql://...)")

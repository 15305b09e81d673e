"""Campaign store backends by URL: the one module that knows them, so the interface
(:mod:`feedmix.ads.store.campaign_store`) and its users stay free of SQLAlchemy.

* ``sqlite:///<path>`` (relative) or ``sqlite:////<absolute path>`` - the default,
  ``sqlite:///<state_dir>/ads.db``;
* ``postgresql://user@host:port/db`` (``postgres://`` and ``postgresql+psycopg://`` too), with the
  option ``?schema=name`` to keep the tables in their own PostgreSQL schema (created if missing).
"""

from __future__ import annotations

from pathlib import Path

from feedmix.ads.store.sql_campaign_store import SqlCampaignStore
from feedmix.sql.engines import parse_sql_url


def default_campaign_store_url(state_dir: str | Path) -> str:
    """``sqlite:///<state_dir>/ads.db`` with the state directory made absolute."""
    return f"sqlite:///{Path(state_dir).resolve() / 'ads.db'}"


def open_campaign_store(url: str, *, migrate: bool = True) -> SqlCampaignStore:
    """The store for ``url`` (see the module doc), with its schema migrated to the latest version.

    ``migrate=False`` opens without touching the schema (a read replica, or a tool that only
    inspects) and fails with ``RuntimeError`` if the schema is not at the version this code expects.
    """
    return SqlCampaignStore(parse_sql_url(url, "campaign store"), migrate=migrate)

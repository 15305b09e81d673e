"""Experiment store and exposure log backends by URL: the one module that knows them.

* store: ``sqlite:///<path>`` (the config's default is ``<state_dir>/experiments.db``) or
  ``postgresql://user@host:port/db[?schema=name]`` (see :mod:`feedmix.sql.engines`);
* exposure log: any event-log URL (``sqlite:///``, ``redis://...?stream=exposures``, ``memory://``),
  holding :class:`~feedmix.experiments.exposure.Exposure` records.
"""

from __future__ import annotations

from pathlib import Path

from feedmix.events.backends import open_event_log
from feedmix.events.event_log import EventLog
from feedmix.experiments.exposure import Exposure
from feedmix.experiments.sql_experiment_store import SqlExperimentStore
from feedmix.sql.engines import parse_sql_url


def open_experiment_store(url: str, *, migrate: bool = True) -> SqlExperimentStore:
    """The store for ``url``, its schema migrated (``migrate=False``: only checked)."""
    return SqlExperimentStore(parse_sql_url(url, "experiment store"), migrate=migrate)


def open_exposure_log(url: str) -> EventLog[Exposure]:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return open_event_log(url, Exposure)

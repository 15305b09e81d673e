"""The experiment store's interface: where definitions live, as the API, the CLI and the assigner see them.

Its one implementation is SQL (:mod:`feedmix.experiments.sql_experiment_store`, SQLite by default or
PostgreSQL by URL, with versioned migrations), the same shape as the campaign store; it is chosen by
URL in :mod:`feedmix.experiments.backends`, so nothing that uses a store imports SQLAlchemy.

Every write bumps one store-wide revision in the same transaction, and every write takes the
revision row first: writers are serialised, so a rule that looks at what else runs (a free slice in
the layer, a param nobody else changes) sees the truth when it decides. Serving processes poll
``revision()`` (one single-row read) and recompile their assigner from ``snapshot()`` when it moved.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from feedmix.experiments.model import Experiment
from feedmix.experiments.request_stats import StatsRow

#: a change applied inside a write transaction: (the experiment, the other running ones, the
#: holdout shares by scope) -> the changed experiment, or an ``ExperimentError``
Change = Callable[[Experiment, Sequence[Experiment], Mapping[str, float]], Experiment]


@dataclass(frozen=True)
class ExperimentsSnapshot:
    """What serves at ``revision``: the running experiments and the holdouts, read consistently."""

    revision: int
    running: tuple[Experiment, ...]
    holdouts: Mapping[str, float]


class ExperimentStore(Protocol):
    def create(self, experiment: Experiment, now: float) -> Experiment:
        """Store a new draft; ``ExperimentError`` (409) if the id is taken."""
        ...

    def get(self, experiment_id: str) -> Experiment:
        """The experiment; ``NotFound`` (404) if there is none."""
        ...

    def list(self, statuses: Collection[str] | None = None) -> list[Experiment]:
        """Every experiment (or those in ``statuses``), newest first."""
        ...

    def update(self, experiment_id: str, change: Change) -> Experiment:
        """Apply ``change`` under the store's write lock and store its result (revision bumped)."""
        ...

    def holdouts(self) -> dict[str, float]:
        """Holdout shares by scope: ``global`` and layer names (absent: 0)."""
        ...

    def set_holdout(self, scope: str, share: float) -> None:
        """Set a holdout share, refused (``ExperimentError``) if a running slice would fall inside it."""
        ...

    def snapshot(self) -> ExperimentsSnapshot: ...

    def add_request_stats(self, rows: Sequence[StatsRow]) -> None:
        """Add per-variant request counts (guardrails); counts add across processes."""
        ...

    def request_stats(self, experiment_id: str, bucket_version: int) -> Sequence[StatsRow]: ...

    def revision(self) -> int: ...

    def close(self) -> None: ...

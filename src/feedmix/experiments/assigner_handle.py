"""The assigner a serving process uses, kept in step with the experiment store.

A watcher thread reads the store's revision (one single-row read) every ``interval_s`` and, when it
moved, compiles a new :class:`~feedmix.experiments.assignment.Assigner` from a consistent snapshot
and swaps it in with one reference assignment: a request sees either the old set of experiments or
the new one, never half of each. If the store is unreachable the last assigner keeps serving (a
start or stop then lands up to one interval late, and a warning says so).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from feedmix.experiments.assignment import Assigner
from feedmix.experiments.experiment_store import ExperimentStore

log = logging.getLogger(__name__)


class AssignerHandle:
    def __init__(
        self,
        store: ExperimentStore,
        community_id: Callable[[str], int | None] | None = None,
        interval_s: float = 2.0,
    ) -> None:
        self._store = store
        self._community_id = community_id
        self.interval_s = interval_s
        self._revision = -1
        self._assigner = Assigner(())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    def current(self) -> Assigner:
        return self._assigner

    def refresh(self) -> bool:
        """Recompile if the store changed; True when a new assigner serves."""
        rev = self._store.revision()
        if rev == self._revision:
            return False
        snap = self._store.snapshot()
        self._assigner = Assigner(snap.running, snap.holdouts, self._community_id)
        self._revision = snap.revision
        log.info("experiments at revision %d: %d running", snap.revision, len(snap.running))
        return True

    def start_watching(self) -> None:
        if self._thread is None and self.interval_s > 0:
            self._thread = threading.Thread(target=self._watch, name="feedmix-experiments", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.refresh()
            except Exception:
                log.warning("could not refresh experiments; the last assignment keeps serving", exc_info=True)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

"""Exposures: the record that a unit was served a variant, written where the decision took effect.

Analysis counts only exposed units, from their first exposure on: a user assigned but never served
(the request failed before the pipeline ran, or they never came) must not dilute the arms, and
their behaviour before exposure is the CUPED covariate, not an outcome.

An exposure's ``event_id`` is a digest of (experiment, bucket version, unit, UTC day), so the log's
own idempotency keeps one exposure per unit per experiment per day across every serving process and
restart; the in-process cache only spares the log the repeats. The records go to an event log of
their own (any event-log backend), so no consumer of user events has to learn to skip them.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from typing import Literal

from prometheus_client import Counter
from pydantic import Field

from feedmix.events.event_log import EventLog
from feedmix.events.schema import LogRecord, Token, UnixSeconds
from feedmix.experiments.assignment import Assignment

log = logging.getLogger(__name__)

EXPOSURES = Counter("feedmix_experiment_exposures_total", "exposures written to the exposure log", ["result"])
DAY_S = 86_400


class Exposure(LogRecord):
    type: Literal["exposure"] = "exposure"
    experiment: Token
    variant: Token
    bucket_version: int = Field(ge=1)
    #: the randomised id (a user id, or a request id for request-unit experiments)
    unit: Token
    user_id: Token
    request_id: Token
    surface: Token
    ts: UnixSeconds


def exposure_id(experiment: str, bucket_version: int, unit: str, ts: float) -> str:
    day = int(ts // DAY_S)
    digest = hashlib.blake2b(f"{experiment}|{bucket_version}|{unit}|{day}".encode(), digest_size=12)
    return "x" + digest.hexdigest()


class ExposureLogger:
    """Writes each (experiment, bucket version, unit) once a day; remembers what it wrote today.

    A failed append is counted and forgotten, so the unit's next request tries again: an exposure
    is never acknowledged by the cache before the log has it.
    """

    def __init__(self, log_: EventLog[Exposure], max_cached: int = 1_000_000) -> None:
        self._log = log_
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._day = -1
        self._max_cached = max_cached

    def record(
        self, assignments: Sequence[Assignment], user_id: str, request_id: str, surface: str, now: float
    ) -> int:
        """Log the assignments not yet logged today; returns how many were new to the log."""
        if not assignments:
            return 0
        day = int(now // DAY_S)
        fresh: list[Exposure] = []
        with self._lock:
            if day != self._day or len(self._seen) >= self._max_cached:
                self._seen.clear()
                self._day = day
            for a in assignments:
                eid = exposure_id(a.experiment_id, a.bucket_version, a.unit, now)
                if eid in self._seen:
                    continue
                self._seen.add(eid)
                fresh.append(
                    Exposure(
                        event_id=eid,
                        experiment=a.experiment_id,
                        variant=a.variant,
                        bucket_version=a.bucket_version,
                        unit=a.unit,
                        user_id=user_id,
                        request_id=request_id,
                        surface=surface,
                        ts=now,
                    )
                )
        if not fresh:
            return 0
        try:
            result = self._log.append(fresh)
        except Exception:
            with self._lock:
                self._seen.difference_update(e.event_id for e in fresh)
            EXPOSURES.labels("failed").inc(len(fresh))
            log.warning("could not log %d exposures", len(fresh), exc_info=True)
            raise
        EXPOSURES.labels("written").inc(result.accepted)
        EXPOSURES.labels("duplicate").inc(result.duplicates)
        return result.accepted

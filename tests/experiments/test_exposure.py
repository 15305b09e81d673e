"""Exposures: one per unit, experiment and day, durable in the log before the cache remembers them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from feedmix.events.event_log import AppendResult, EventLogUnavailable, scan
from feedmix.experiments.assignment import Assignment
from feedmix.experiments.backends import open_exposure_log
from feedmix.experiments.exposure import DAY_S, Exposure, ExposureLogger, exposure_id


def _a(unit: str = "u1", variant: str = "treatment", version: int = 1) -> Assignment:
    return Assignment("exp-a", variant, "ranking", version, unit)


@pytest.mark.parametrize("scheme", ["sqlite", "redis", "memory"])
def test_one_exposure_per_unit_experiment_and_day_on_every_log(
    scheme: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if scheme == "sqlite":
        url = f"sqlite:///{tmp_path / 'exposures.db'}"
    elif scheme == "redis":
        url = f"{request.getfixturevalue('redis_url')}?stream={request.getfixturevalue('redis_prefix')}-exp"
    else:
        url = "memory://"
    log = open_exposure_log(url)
    try:
        logger = ExposureLogger(log)
        t0 = 1_000 * DAY_S
        assert logger.record([_a("u1"), _a("u2")], "u1", "r1", "home", t0) == 2
        assert logger.record([_a("u1")], "u1", "r2", "home", t0 + 60) == 0  # same day
        # another process (a fresh cache) is stopped by the log's own idempotency
        assert ExposureLogger(log).record([_a("u1")], "u1", "r3", "home", t0 + 120) == 0
        assert logger.record([_a("u1")], "u1", "r4", "home", t0 + DAY_S) == 1  # next day
        assert logger.record([_a("u1", version=2)], "u1", "r5", "home", t0 + DAY_S) == 1  # new version
        stored = list(scan(log))
        assert len(stored) == 4 and all(isinstance(e, Exposure) for e in stored)
        first = stored[0]
        assert (first.experiment, first.variant, first.unit, first.request_id) == (
            "exp-a",
            "treatment",
            "u1",
            "r1",
        )
    finally:
        log.close()


class _FlakyLog:
    def __init__(self) -> None:
        self.fail = True
        self.stored: list[Exposure] = []

    def append(self, events: Sequence[Exposure]) -> AppendResult:
        if self.fail:
            raise EventLogUnavailable("down")
        self.stored.extend(events)
        return AppendResult(len(events), 0)


def test_a_failed_append_is_retried_by_the_next_request() -> None:
    log = _FlakyLog()
    logger = ExposureLogger(log)  # type: ignore[arg-type]
    with pytest.raises(EventLogUnavailable):
        logger.record([_a()], "u1", "r1", "home", 5.0)
    log.fail = False
    assert logger.record([_a()], "u1", "r2", "home", 6.0) == 1
    assert [e.request_id for e in log.stored] == ["r2"]


def test_exposure_ids_are_deterministic_per_day() -> None:
    assert exposure_id("e", 1, "u", 10.0) == exposure_id("e", 1, "u", DAY_S - 1)
    assert exposure_id("e", 1, "u", 10.0) != exposure_id("e", 1, "u", DAY_S + 1)
    assert exposure_id("e", 1, "u", 10.0) != exposure_id("e", 2, "u", 10.0)

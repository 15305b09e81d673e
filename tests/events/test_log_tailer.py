"""LogTailer: every event the log holds after the start reaches the consumers once, in log order."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from feedmix.events.backends import open_event_log
from feedmix.events.log_tailer import LogTailer
from feedmix.events.schema import Event


class Recorder:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def apply(self, events: Sequence[Event], now: float) -> None:
        self.ids += [e.event_id for e in events]


def test_poll_applies_what_follows_the_position_once(make_event: Callable[..., Event]) -> None:
    log = open_event_log("memory://")
    old = [make_event() for _ in range(3)]
    log.append(old)
    seen = Recorder()
    tailer = LogTailer(log, [seen], after=3, batch=2)
    assert tailer.poll() == 0
    new = [make_event() for _ in range(5)]
    log.append(new)
    assert tailer.poll() == 5 and tailer.poll() == 0
    assert seen.ids == [e.event_id for e in new]
    assert tailer.position == 8


def test_the_thread_follows_appends_until_closed(make_event: Callable[..., Event]) -> None:
    log = open_event_log("memory://")
    seen = Recorder()
    tailer = LogTailer(log, [seen], interval_s=0.01).start()
    sent = [make_event() for _ in range(20)]
    for i in range(0, 20, 5):
        log.append(sent[i : i + 5])
    deadline = time.monotonic() + 10
    while len(seen.ids) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    tailer.close()
    assert seen.ids == [e.event_id for e in sent]


def test_a_failing_read_keeps_the_position(make_event: Callable[..., Event]) -> None:
    log = open_event_log("memory://")
    log.append([make_event() for _ in range(2)])
    calls = {"n": 0}
    real_read = log.read

    def flaky(after: int = 0, limit: int = 1000) -> list[tuple[int, Event]]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("log down")
        return real_read(after, limit)

    log.read = flaky  # type: ignore[method-assign]
    seen = Recorder()
    tailer = LogTailer(log, [seen], interval_s=0.01).start()
    deadline = time.monotonic() + 10
    while len(seen.ids) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    tailer.close()
    assert len(seen.ids) == 2 and calls["n"] >= 2

"""Builders shared by the offline-feature tests: events into an exported directory, fake results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from feedmix.events.memory_event_log import MemoryEventLog
from feedmix.events.schema import Event
from feedmix.features.offline.event_export import export_events

#: one minute before midnight UTC on 2013-08-19, so timelines cross a date partition
T0 = 1_376_870_400.0 - 60.0


def event(
    n: int,
    type_: str,
    user: str,
    post: str,
    ts: float,
    request_id: str | None = None,
    position: int | None = None,
) -> Event:
    return Event(
        event_id=f"e{n}",
        type=type_,
        user_id=user,
        post_id=post,
        ts=ts,
        request_id=request_id,
        position=position,
    )


def export(events: Sequence[Event], directory: Path) -> Path:
    """Append ``events`` to a fresh log (offsets 1, 2, ... in this order) and export them."""
    log = MemoryEventLog()
    log.append(list(events))
    export_events(log, directory, progress=False, durable=False)
    return directory

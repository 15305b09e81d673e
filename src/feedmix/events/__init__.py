"""Client events: the schema, the durable event log, and ingestion into online state."""

from feedmix.events.backends import open_event_log
from feedmix.events.event_log import DEFAULT_EVENT_LOG_URL, AppendResult, EventLog, EventLogUnavailable
from feedmix.events.ingest import EventIngestor
from feedmix.events.post_ids import int_to_post_id, ints_to_post_ids, post_id_to_int, post_ids_to_int
from feedmix.events.schema import EVENT_TYPES, Event, EventBatch, EventType

__all__ = [
    "DEFAULT_EVENT_LOG_URL",
    "EVENT_TYPES",
    "AppendResult",
    "Event",
    "EventBatch",
    "EventIngestor",
    "EventLog",
    "EventLogUnavailable",
    "EventType",
    "int_to_post_id",
    "ints_to_post_ids",
    "open_event_log",
    "post_id_to_int",
    "post_ids_to_int",
]

"""Client events as the ingestion API accepts them.

Validation is strict and happens here, before anything touches the log: a batch with one bad
event is rejected whole (FastAPI turns the ValidationError into a 422 naming the field), so a log
never holds half a client batch. Unknown fields are forbidden so a client's typo (``post-id``) is
reported instead of silently dropping data, and numbers are strict (no ``"12"`` or ``true``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from feedmix.events.post_ids import POST_ID_PATTERN

EventType = Literal["impression", "click", "upvote", "downvote", "hide", "comment"]
EVENT_TYPES: tuple[EventType, ...] = ("impression", "click", "upvote", "downvote", "hide", "comment")

MAX_BATCH = 1000

_TOKEN = r"^[A-Za-z0-9_.:-]{1,64}$"
Token = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_TOKEN)]
PostId = Annotated[str, StringConstraints(pattern=POST_ID_PATTERN)]
# allow_inf_nan=False: NaN compares false with everything and would poison time ordering.
UnixSeconds = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]


class LogRecord(BaseModel):
    """What an event log stores: an immutable record with an id that makes appending it idempotent.

    Client events are one kind; the experiments' exposures (:mod:`feedmix.experiments.exposure`) are
    another, kept in a log of their own so that no consumer of user events ever has to skip them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Token = Field(
        description="Client-generated id; retries reuse it, which makes ingestion idempotent."
    )


class Event(LogRecord):
    """One thing a user did to one post. Immutable: ingestion copies it to fill ``ts``."""

    type: EventType
    user_id: Token
    post_id: PostId = Field(description="Base36 post id, canonical (no leading zeros).")
    ts: UnixSeconds | None = Field(default=None, description="Unix seconds; the server's time if absent.")
    request_id: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="The feed response that showed the post, for attribution."
    )
    position: Annotated[int, Field(strict=True, ge=0, le=10_000)] | None = None
    surface: Annotated[str, StringConstraints(max_length=32)] | None = None


class EventBatch(BaseModel):
    """What one ingestion request carries: 1 to 1000 events, accepted or rejected together."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: list[Event] = Field(min_length=1, max_length=MAX_BATCH)

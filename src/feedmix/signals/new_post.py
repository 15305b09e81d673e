"""A post as ``POST /v1/posts`` accepts it: validated before anything is stored (a bad batch is refused
whole, with the field named), then appended to a durable log keyed by the post id, so a client can retry
blindly and an accepted post is labelled even if the server stops before it gets to it.

Text limits are generous on purpose: the codebook's bad-input rules want an over-long, empty, emoji-only
or foreign post to get a defined answer from the gate, not a refusal; only what no post could be (over
``MAX_SELFTEXT`` characters) is refused.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from feedmix.events.schema import LogRecord, UnixSeconds

MAX_BATCH = 500
MAX_TITLE = 1_000
MAX_SELFTEXT = 200_000
Community = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]{1,64}$")]


class NewPost(LogRecord):
    """``event_id`` is the post's id (base36 or any token): the same post sent twice is stored once."""

    subreddit: Community
    title: Annotated[str, StringConstraints(max_length=MAX_TITLE)] = ""
    selftext: Annotated[str, StringConstraints(max_length=MAX_SELFTEXT)] = ""
    over_18: Annotated[bool, Field(strict=True)] = False
    received_at: UnixSeconds | None = Field(default=None, description="Set by the server on arrival.")


class PostIn(BaseModel):
    """The API's shape: ``id`` instead of ``event_id``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    subreddit: Community
    title: Annotated[str, StringConstraints(max_length=MAX_TITLE)] = ""
    selftext: Annotated[str, StringConstraints(max_length=MAX_SELFTEXT)] = ""
    over_18: Annotated[bool, Field(strict=True)] = False


class PostBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    posts: list[PostIn] = Field(min_length=1, max_length=MAX_BATCH)


def to_log(post: PostIn, now: float) -> NewPost:
    return NewPost(
        event_id=post.id,
        subreddit=post.subreddit,
        title=post.title,
        selftext=post.selftext,
        over_18=post.over_18,
        received_at=now,
    )

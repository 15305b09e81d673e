"""The schema: queries for feeds, posts and communities, mutations for events, and the limits every
request passes. ``SCHEMA_FILE`` is the SDL clients generate code from; a test keeps it equal to the
schema built here (``feedmix graphql-schema`` rewrites it)."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from strawberry.extensions import DisableValidation, ParserCache, SchemaExtension
from strawberry.types import Info

from feedmix.ads.api.ad_tracker import AdEventBatch, InvalidAdEvents
from feedmix.events.event_log import EventLogUnavailable
from feedmix.events.schema import EventBatch
from feedmix.serving.graphql_api import viewer
from feedmix.serving.graphql_api.context import bad_input
from feedmix.serving.graphql_api.types import (
    AdEventInput,
    AdEventsAccepted,
    Community,
    EventInput,
    EventsAccepted,
    FeedConnection,
    Post,
    PreferencesInput,
    Surface,
    Viewer,
)
from feedmix.stores.errors import StoreUnavailable

SCHEMA_FILE = Path(__file__).resolve().parent / "schema.graphql"
#: GraphQL's names of the event fields, for errors that name what the client sent
_FIELD_NAMES = {
    "event_id": "eventId",
    "user_id": "userId",
    "post_id": "postId",
    "request_id": "requestId",
    "ad_token": "adToken",
}


@strawberry.type
class Query:
    @strawberry.field(description="A user's feed on a surface, one page at a time (after: endCursor).")
    async def feed(
        self,
        info: Info,
        user_id: str,
        surface: Surface = Surface.HOME,
        first: int = 25,
        after: str | None = None,
    ) -> FeedConnection:
        pipeline = info.context.services.surfaces[surface.name]
        result: FeedConnection = await info.context.feed(pipeline, user_id, first, after)
        return result

    @strawberry.field(description="A post by its base-36 id; null when there is none.")
    async def post(self, info: Info, id: strawberry.ID) -> Post | None:
        result: Post | None = await info.context.loaders.posts.load(str(id))
        return result

    @strawberry.field(description="A community by name; null when there is none.")
    async def community(self, info: Info, name: str) -> Community | None:
        result: Community | None = await info.context.loaders.communities.load(name)
        return result

    @strawberry.field(description="A viewer and their feed settings.")
    async def viewer(self, info: Info, user_id: str) -> Viewer:
        return await viewer.read_viewer(info.context.services, user_id)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Impressions, clicks, votes and hides: durable in the event log before this returns, "
        "all or none, idempotent by eventId (as POST /v1/events)."
    )
    async def record_events(self, info: Info, events: list[EventInput]) -> EventsAccepted:
        rows = [
            {
                "event_id": e.event_id,
                "type": e.type.value,
                "user_id": e.user_id,
                "post_id": e.post_id,
                **{
                    k: v
                    for k, v in (
                        ("ts", e.ts),
                        ("request_id", e.request_id),
                        ("position", e.position),
                        ("surface", e.surface),
                    )
                    if v is not None
                },
            }
            for e in events
        ]
        try:
            batch = EventBatch.model_validate({"events": rows})
        except ValidationError as e:
            first = e.errors()[0]
            raise bad_input(_field_path(first["loc"]), first["msg"]) from None
        try:
            res = await run_in_threadpool(info.context.services.ingestor.ingest, batch, time.time())
        except EventLogUnavailable as e:
            raise GraphQLError(f"event log unavailable: {e}", extensions={"code": "UNAVAILABLE"}) from None
        return EventsAccepted(accepted=res.accepted, duplicates=res.duplicates)

    @strawberry.mutation(
        description="Ad impressions and clicks by the served ad's adToken: each eventId bills once "
        "(as POST /v1/ads/events)."
    )
    async def record_ad_events(self, info: Info, events: list[AdEventInput]) -> AdEventsAccepted:
        track = info.context.services.track_ad_events
        if track is None:
            raise GraphQLError("ads are disabled on this server", extensions={"code": "UNAVAILABLE"})
        rows = [{"event_id": e.event_id, "type": e.type.value, "ad_token": e.ad_token} for e in events]
        try:
            batch = AdEventBatch.model_validate({"events": rows})
        except ValidationError as e:
            first = e.errors()[0]
            raise bad_input(_field_path(first["loc"]), first["msg"]) from None
        try:
            res = await run_in_threadpool(track, batch)
        except InvalidAdEvents as e:
            bad = e.errors[0]  # loc ["body", "events", i, "ad_token"]
            raise bad_input(_field_path(tuple(bad["loc"][1:])), bad["msg"]) from None
        except StoreUnavailable as e:
            raise GraphQLError(f"ad stores unavailable: {e}", extensions={"code": "UNAVAILABLE"}) from None
        return AdEventsAccepted(
            accepted=res["accepted"], duplicates=res["duplicates"], billed_micros=res["billed_micros"]
        )

    @strawberry.mutation(description="Change a viewer's feed settings; their next feed applies them.")
    async def update_preferences(self, info: Info, user_id: str, input: PreferencesInput) -> Viewer:
        return await viewer.update_viewer(info.context.services, user_id, input)

    @strawberry.mutation(description="Show fewer posts like this one (of its community) to this viewer.")
    async def show_fewer_like_this(self, info: Info, user_id: str, post_id: strawberry.ID) -> Viewer:
        post: Post | None = await info.context.loaders.posts.load(str(post_id))
        if post is None:
            raise bad_input("postId", f"unknown post {str(post_id)!r}")
        return await viewer.show_fewer_like(info.context.services, user_id, post.community_name)


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(_FIELD_NAMES.get(str(p), str(p)) for p in loc)


class FeedHealth(SchemaExtension):
    """Says in ``extensions`` what REST says in the body: which feeds were degraded and by what, and,
    for the curious, how many batched reads each entity kind took."""

    def get_results(self) -> dict[str, Any]:
        ctx = self.execution_context.context
        out: dict[str, Any] = {}
        if ctx is None:
            return out
        if ctx.degraded:
            out["degraded"] = ctx.degraded
        if ctx.loaders.reads:
            out["reads"] = dict(ctx.loaders.reads)
        return out


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        # the router has validated the document already (limits.document_errors, cached by text); the
        # parse is cached by text too. Factories: each execution gets its own extension instances.
        extensions=[
            partial(ParserCache, maxsize=512),
            DisableValidation,
            FeedHealth,
        ],
    )


def schema_sdl() -> str:
    return str(build_schema()) + "\n"

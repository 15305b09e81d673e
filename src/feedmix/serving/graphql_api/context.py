"""One GraphQL request's context: its loaders, the feed runner its resolvers share, and what they report
beside the data (a degraded feed is said in the response's ``extensions``, as REST says it in the body).

A feed runs the same ``FeedService.feed`` REST runs, on a worker thread, so the event loop keeps serving
other requests while the pipeline's numpy work runs. A bad argument becomes a GraphQL error whose
``extensions.field`` names it, as REST's 422 names the query parameter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool

from feedmix.core.params import ParamError
from feedmix.serving.cursor import Cursor, CursorError
from feedmix.serving.feed_service import MAX_LIMIT, USER_ID, UnknownCommunity
from feedmix.serving.graphql_api.loaders import Loaders
from feedmix.serving.graphql_api.services import GraphQLServices
from feedmix.serving.graphql_api.types import FeedConnection


def bad_input(field_name: str, message: str) -> GraphQLError:
    return GraphQLError(
        f"{field_name}: {message}", extensions={"code": "BAD_USER_INPUT", "field": field_name}
    )


@dataclass
class RequestContext:
    services: GraphQLServices
    loaders: Loaders
    #: params the caller set for every feed of this request (``p.*`` query parameters in REST)
    overrides: dict[str, str] = field(default_factory=dict)
    #: each degraded feed of this request: its surface and the components that failed
    degraded: list[dict[str, Any]] = field(default_factory=list)

    async def feed(
        self,
        pipeline: str,
        user_id: str,
        first: int,
        after: str | None,
        community: str | None = None,
        overrides: dict[str, str] | None = None,
    ) -> FeedConnection:
        if not USER_ID.match(user_id):
            raise bad_input("userId", "1-64 characters of A-Z a-z 0-9 _ . : -")
        if not 1 <= first <= MAX_LIMIT:
            raise bad_input("first", f"must be between 1 and {MAX_LIMIT}")
        cursor = None
        if after:
            try:
                cursor = Cursor.decode(after)
            except CursorError as e:
                raise bad_input("after", str(e)) from None
        params = {**self.overrides, **(overrides or {})}
        try:
            body = await run_in_threadpool(
                self.services.feeds.feed,
                pipeline,
                user_id,
                first,
                cursor,
                False,
                params,
                community,
            )
        except ParamError as e:
            raise bad_input(f"params.{e.name}", str(e)) from None
        except UnknownCommunity as e:
            raise bad_input("name", f"unknown community {e.args[0]!r}") from None
        if body["degraded"]:
            self.degraded.append(
                {"surface": body["surface"], "failedComponents": list(body["failed_components"])}
            )
        return FeedConnection.from_body(body)

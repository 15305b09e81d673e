"""The ``feedmix.v1.Ranking`` servicer: ``GetFeed`` and ``RankCandidates`` on the feed service.

A call's gRPC deadline becomes the request's deadline (less a margin for the reply's trip back: a tenth,
at least 5 ms), so a
caller that has 40 ms left gets a page ranked within them, partial if it must be (``coverage`` and
``failed_components`` say what was cut), instead of an answer it has stopped waiting for. Bad arguments
are ``INVALID_ARGUMENT`` whose details name the field, as REST's 422 does."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import grpc
from prometheus_client import Counter, Histogram

from feedmix.core.params import ParamError
from feedmix.serving.cursor import Cursor, CursorError
from feedmix.serving.feed_service import MAX_LIMIT, MAX_RANK, USER_ID, FeedService, UnknownCommunity
from feedmix.serving.grpc_api.generated import ranking_pb2 as pb
from feedmix.serving.grpc_api.generated.ranking_pb2_grpc import RankingServicer

#: kept back from the caller's deadline for serialising the reply and its trip back: a share of what
#: is left, at least a few milliseconds
DEADLINE_MARGIN_SHARE = 0.1
DEADLINE_MARGIN_MIN_MS = 5.0
DEFAULT_LIMIT = 25

REQUESTS = Counter(
    "feedmix_grpc_requests_total", "gRPC calls answered, by method and status", ["method", "code"]
)
LATENCY = Histogram(
    "feedmix_grpc_request_seconds",
    "gRPC call latency in the servicer",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

_R = TypeVar("_R")


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code, self.details = code, details


def _invalid(field: str, message: str) -> _Abort:
    return _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: {message}")


class RankingService(RankingServicer):
    def __init__(
        self,
        feeds: FeedService,
        surfaces: Mapping[str, str] | None = None,
        rank_pipelines: Mapping[str, str] | None = None,
    ) -> None:
        self.feeds = feeds
        #: surface name -> the pipeline serving its feed, and the one ranking a caller's candidates
        self.surfaces = dict(surfaces or {"home": "home", "community": "community", "discovery": "discovery"})
        self.rank_pipelines = dict(rank_pipelines or {"home": "home_rank"})

    # -- calls -----------------------------------------------------------------------------------

    def GetFeed(self, request: pb.GetFeedRequest, context: grpc.ServicerContext) -> pb.FeedPage:
        return self._answer("GetFeed", context, lambda: self._get_feed(request, context))

    def RankCandidates(
        self, request: pb.RankCandidatesRequest, context: grpc.ServicerContext
    ) -> pb.RankCandidatesResponse:
        return self._answer("RankCandidates", context, lambda: self._rank(request, context))

    # -- work ------------------------------------------------------------------------------------

    def _get_feed(self, request: pb.GetFeedRequest, context: grpc.ServicerContext) -> pb.FeedPage:
        _check_user(request.user_id)
        surface = request.surface or "home"
        pipeline = self.surfaces.get(surface)
        if pipeline is None:
            raise _invalid("surface", f"unknown surface {surface!r} (one of {sorted(self.surfaces)})")
        community = request.community or None
        if surface == "community" and community is None:
            raise _invalid("community", "required for the community surface")
        limit = request.limit or DEFAULT_LIMIT
        if not 1 <= limit <= MAX_LIMIT:
            raise _invalid("limit", f"must be between 1 and {MAX_LIMIT}")
        cursor = None
        if request.cursor:
            try:
                cursor = Cursor.decode(request.cursor)
            except CursorError as e:
                raise _invalid("cursor", str(e)) from None
        params = self._params(pipeline, dict(request.params), context)
        body = self.feeds.feed(pipeline, request.user_id, limit, cursor, False, params, community=community)
        return pb.FeedPage(
            request_id=body["request_id"],
            surface=body["surface"],
            items=[_item(it) for it in body["items"]],
            next_cursor=body["next_cursor"] or "",
            coverage=body["coverage"],
            degraded=body["degraded"],
            failed_components=body["failed_components"],
            model_version=body.get("model_version") or "",
            suggested_communities=body.get("suggested_communities") or [],
        )

    def _rank(
        self, request: pb.RankCandidatesRequest, context: grpc.ServicerContext
    ) -> pb.RankCandidatesResponse:
        _check_user(request.user_id)
        surface = request.surface or "home"
        pipeline = self.rank_pipelines.get(surface)
        if pipeline is None:
            raise _invalid(
                "surface", f"no ranking for surface {surface!r} (one of {sorted(self.rank_pipelines)})"
            )
        ids = list(request.post_ids)
        if not 1 <= len(ids) <= MAX_RANK:
            raise _invalid("post_ids", f"between 1 and {MAX_RANK} ids")
        params = self._params(pipeline, dict(request.params), context)
        body = self.feeds.rank(pipeline, request.user_id, ids, params)
        return pb.RankCandidatesResponse(
            request_id=body["request_id"],
            posts=[
                pb.RankedPost(
                    post_id=p["post_id"],
                    rank=p["rank"],
                    score=p["score"],
                    score_parts=p["score_parts"],
                    predictions=p["predictions"],
                )
                for p in body["posts"]
            ],
            unknown_post_ids=body["unknown_post_ids"],
            filtered_post_ids=body["filtered_post_ids"],
            coverage=body["coverage"],
            degraded=body["degraded"],
            failed_components=body["failed_components"],
            model_version=body.get("model_version") or "",
        )

    def _params(self, pipeline: str, params: dict[str, str], context: grpc.ServicerContext) -> dict[str, str]:
        """The request's params, with the pipeline's deadline cut to what the caller has left."""
        remaining = context.time_remaining()
        if remaining is None:  # no deadline set by the caller: the pipeline's own
            return params
        left_ms = remaining * 1000.0
        left_ms -= max(DEADLINE_MARGIN_MIN_MS, DEADLINE_MARGIN_SHARE * left_ms)
        if left_ms < 1.0:
            raise _Abort(grpc.StatusCode.DEADLINE_EXCEEDED, "the call's deadline left no time to rank")
        try:
            own = float(self.feeds.pipelines[pipeline].params(params)["pipeline.deadline_ms"])
        except ParamError as e:
            raise _invalid(f"params.{e.name}", str(e)) from None
        params["pipeline.deadline_ms"] = f"{min(own, left_ms):.3f}"
        return params

    def _answer(self, method: str, context: grpc.ServicerContext, work: Callable[[], _R]) -> _R:
        t0 = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            return work()
        except _Abort as e:
            code = e.code
            context.abort(e.code, e.details)
        except ParamError as e:
            code = grpc.StatusCode.INVALID_ARGUMENT
            context.abort(code, f"params.{e.name}: {e}")
        except UnknownCommunity as e:
            code = grpc.StatusCode.NOT_FOUND
            context.abort(code, f"community: unknown community {e.args[0]!r}")
        finally:
            REQUESTS.labels(method, code.name).inc()
            LATENCY.labels(method).observe(time.perf_counter() - t0)
        raise AssertionError("unreachable: context.abort raises")


def _check_user(user_id: str) -> None:
    if not USER_ID.match(user_id):
        raise _invalid("user_id", "1-64 characters of A-Z a-z 0-9 _ . : -")


def _item(it: dict[str, Any]) -> pb.FeedItem:
    if it["kind"] == "ad":
        w = it["why"]
        return pb.FeedItem(
            id=it["id"],
            kind="ad",
            position=it["position"],
            ad=pb.AdCreative(
                headline=it["headline"],
                body=it["body"],
                call_to_action=it["call_to_action"],
                click_url=it["click_url"],
                image_url=it["image_url"] or "",
                campaign_id=it["campaign_id"],
                ad_group_id=it["ad_group_id"],
                ad_token=it["ad_token"],
                pctr=w["pctr"],
                ecpm=w["ecpm"],
                price_micros=w["price_micros"],
                slot_rule=w["slot_rule"],
            ),
        )
    return pb.FeedItem(
        id=it["id"],
        kind="post",
        position=it["position"],
        title=it["title"],
        community=it["community"],
        score=it["score"],
        source=it["source"],
        score_parts=it["score_parts"],
        predictions=it["predictions"],
    )

"""The ranking service over a real gRPC channel: feeds, a caller's candidates ranked, errors that name
the field, and the call's deadline becoming the request's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from feedmix.serving.grpc_api.generated import ranking_pb2 as pb
from feedmix.serving.grpc_api.generated.ranking_pb2_grpc import RankingStub
from feedmix.serving.grpc_api.grpc_server import GrpcServer
from feedmix.serving.runtime import Runtime


@pytest.fixture(scope="module")
def stub(runtime: Runtime) -> Iterator[RankingStub]:
    server = GrpcServer(runtime.feeds, "127.0.0.1", 0, workers=4).start()
    channel = grpc.insecure_channel(server.address)
    yield RankingStub(channel)
    channel.close()
    server.stop(1.0)


def test_a_feed_page_then_the_next(stub: RankingStub) -> None:
    page = stub.GetFeed(pb.GetFeedRequest(user_id="u0001", limit=20), timeout=10)
    posts = [it for it in page.items if it.kind == "post"]
    assert len(posts) == 20 and page.next_cursor and page.coverage == 1.0 and not page.degraded
    assert all(it.source and it.score_parts for it in posts)
    nxt = stub.GetFeed(pb.GetFeedRequest(user_id="u0001", limit=20, cursor=page.next_cursor), timeout=10)
    assert not {it.id for it in nxt.items if it.kind == "post"} & {it.id for it in posts}
    community = stub.GetFeed(
        pb.GetFeedRequest(user_id="u0002", surface="community", community="buildapc", limit=10), timeout=10
    )
    assert {it.community for it in community.items} == {"buildapc"}


def test_the_callers_candidates_come_back_ranked_with_every_id_accounted_for(
    stub: RankingStub, runtime: Runtime
) -> None:
    c = runtime.corpus
    nsfw = next(i for i in range(len(c.over_18)) if c.over_18[i])
    ids = [c.id_str[r] for r in range(0, 3000, 60)] + [c.id_str[nsfw], "zzzzzz", "not an id"]
    out = stub.RankCandidates(pb.RankCandidatesRequest(user_id="u0003", post_ids=ids), timeout=10)
    scores = [p.score for p in out.posts]
    assert scores == sorted(scores, reverse=True) and [p.rank for p in out.posts] == list(range(len(scores)))
    assert set(out.unknown_post_ids) == {"zzzzzz", "not an id"}
    assert c.id_str[nsfw] in out.filtered_post_ids  # u0003 did not opt in to NSFW
    returned = {p.post_id for p in out.posts} | set(out.filtered_post_ids) | set(out.unknown_post_ids)
    assert returned == set(ids)
    assert all(p.score_parts for p in out.posts)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.GetFeedRequest(user_id="bad user"), "user_id"),
        (pb.GetFeedRequest(user_id="u1", limit=101), "limit"),
        (pb.GetFeedRequest(user_id="u1", cursor="nope"), "cursor"),
        (pb.GetFeedRequest(user_id="u1", surface="moon"), "surface"),
        (pb.GetFeedRequest(user_id="u1", surface="community"), "community"),
        (pb.GetFeedRequest(user_id="u1", params={"trending.max_candidates": "-1"}), "params.trending"),
    ],
)
def test_bad_arguments_are_invalid_argument_naming_the_field(
    stub: RankingStub, request_: pb.GetFeedRequest, field: str
) -> None:
    with pytest.raises(grpc.RpcError) as e:
        stub.GetFeed(request_, timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details().startswith(field)


def test_unknown_community_and_empty_candidates(stub: RankingStub) -> None:
    with pytest.raises(grpc.RpcError) as e:
        stub.GetFeed(pb.GetFeedRequest(user_id="u1", surface="community", community="nosuch"), timeout=10)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND and "nosuch" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        stub.RankCandidates(pb.RankCandidatesRequest(user_id="u1"), timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and e.value.details().startswith("post_ids")


def test_the_calls_deadline_becomes_the_requests(
    stub: RankingStub, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A remote source that takes 3 s, a call that allows 1 s: the pipeline stops waiting for the
    source at the propagated deadline and the caller gets a partial page that says so, not
    DEADLINE_EXCEEDED."""
    trending = runtime.pipelines["home"].components["trending"]
    real = trending.fetch

    def slow(query: Any) -> Any:
        time.sleep(3.0)
        return real(query)

    monkeypatch.setattr(trending, "fetch", slow)
    monkeypatch.setattr(trending, "inline", False)  # on the pool, as a remote source runs
    params = {"pipeline.deadline_ms": "5000"}  # the pipeline alone would wait for it
    page = stub.GetFeed(pb.GetFeedRequest(user_id="u0004", limit=10, params=params), timeout=1.0)
    assert page.degraded and "trending" in page.failed_components and page.coverage < 1
    assert len([it for it in page.items if it.kind == "post"]) == 10

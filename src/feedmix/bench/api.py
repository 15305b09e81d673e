"""``feedmix bench api``: the same home-feed page over REST, GraphQL and gRPC, in one process and one
run, to say what each API layer costs: per request wall time (p50/p99) and CPU (all of the process's
threads, ``time.process_time``), in interleaved blocks so that drift and noise hit both alike.

REST and GraphQL go through the same ASGI app and in-process client, gRPC through a real channel to
the in-process gRPC server (protobuf encoding, HTTP/2), so what differs is the API layer: FastAPI's
query validation and the item dicts' serialisation against GraphQL's document checks (cached by
text), resolvers and result shaping. The GraphQL query asks for what the REST item holds, so neither
does work the other skips. Aim: GraphQL adds under 1 ms of CPU to a
25-item page.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from feedmix.bench.json_report import emit
from feedmix.bench.latency_summary import percentiles_ms

REST_EQUIVALENT = """
query RestEquivalent($userId: String!, $first: Int!) {
  feed(userId: $userId, first: $first) {
    requestId surface coverage degraded failedComponents modelVersion
    pageInfo { hasNextPage endCursor }
    edges { position node {
      __typename
      ... on Post { id title communityName createdUtc ageHours postScore numComments over18 url permalink
        why { source score scoreParts predictions } }
      ... on Ad { id headline body callToAction clickUrl imageUrl campaignId adGroupId adToken
        why { campaignId adGroupId pctr ecpm priceMicros auctionSlot slotRule } }
    } }
  }
}
"""


def run(args: argparse.Namespace) -> dict[str, Any]:
    import tempfile

    from fastapi.testclient import TestClient

    from feedmix.config import FeedmixConfig
    from feedmix.serving.app import create_app
    from feedmix.serving.runtime import Runtime

    with tempfile.TemporaryDirectory(prefix="feedmix-bench-api-") as state:
        rt = Runtime.build(
            FeedmixConfig(
                state_dir=state,
                users=args.users,
                ads_demo_campaigns=True,
                signals_corpus="off",
                experiments_enabled=False,
            )
        )
        users = [f"u{i:04d}" for i in range(1, args.users + 1)]
        import grpc

        from feedmix.serving.grpc_api.generated import ranking_pb2 as pb
        from feedmix.serving.grpc_api.generated.ranking_pb2_grpc import RankingStub
        from feedmix.serving.grpc_api.grpc_server import GrpcServer

        grpc_server = GrpcServer(rt.feeds, "127.0.0.1", 0, workers=4).start()
        channel = grpc.insecure_channel(grpc_server.address)
        stub = RankingStub(channel)  # type: ignore[no-untyped-call]
        try:
            with TestClient(create_app(rt)) as client:

                def rest(user: str) -> None:
                    r = client.get("/v1/feed", params={"user_id": user, "limit": args.limit})
                    assert r.status_code == 200, r.text

                def graphql(user: str) -> None:
                    r = client.post(
                        "/graphql",
                        json={"query": REST_EQUIVALENT, "variables": {"userId": user, "first": args.limit}},
                    )
                    body = r.json()
                    assert r.status_code == 200 and "errors" not in body, body

                def grpc_call(user: str) -> None:
                    page = stub.GetFeed(pb.GetFeedRequest(user_id=user, limit=args.limit), timeout=10)
                    assert page.items

                kinds = {"rest": rest, "graphql": graphql, "grpc": grpc_call}
                samples: dict[str, list[float]] = {k: [] for k in kinds}
                cpu: dict[str, float] = dict.fromkeys(kinds, 0.0)
                for fn in kinds.values():  # warm-up: imports, caches, the ranker's first calls
                    for u in users[: args.warmup]:
                        fn(u)
                block = args.block
                done = 0
                while done < args.requests:
                    for name, fn in kinds.items():
                        c0 = time.process_time()
                        for i in range(block):
                            t0 = time.perf_counter()
                            fn(users[(done + i) % len(users)])
                            samples[name].append(time.perf_counter() - t0)
                        cpu[name] += time.process_time() - c0
                    done += block
                    print(f"bench api: {done}/{args.requests} requests of each", file=sys.stderr)
        finally:
            channel.close()
            grpc_server.stop(1.0)
            rt.close()
    out: dict[str, Any] = {"limit": args.limit, "requests_each": done, "block": block}
    for name in kinds:
        out[name] = {
            **percentiles_ms(samples[name]),
            "cpu_ms_per_request": round(cpu[name] / len(samples[name]) * 1000, 3),
        }
    added = out["graphql"]["cpu_ms_per_request"] - out["rest"]["cpu_ms_per_request"]
    out["graphql_added_cpu_ms"] = round(added, 3)
    grpc_delta = out["grpc"]["cpu_ms_per_request"] - out["rest"]["cpu_ms_per_request"]
    out["grpc_vs_rest_cpu_ms"] = round(grpc_delta, 3)
    out["aim"] = {"graphql_added_cpu_ms_below": 1.0, "met": added < 1.0}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="feedmix bench api", description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=600, help="measured requests of each API")
    ap.add_argument("--block", type=int, default=50, help="requests per API before switching")
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--limit", type=int, default=25, help="items per page")
    ap.add_argument("--users", type=int, default=500)
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    result = run(args)
    emit(result, args.out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

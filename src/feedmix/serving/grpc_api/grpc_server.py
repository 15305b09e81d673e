"""The gRPC server a serving process runs beside its HTTP one, on the same runtime. Its thread pool is
small: each call is one request's work on one thread, like the HTTP workers, and the pipeline's own
executor does the fan-out."""

from __future__ import annotations

import logging
from concurrent import futures

import grpc

from feedmix.serving.feed_service import FeedService
from feedmix.serving.grpc_api.generated.ranking_pb2_grpc import add_RankingServicer_to_server
from feedmix.serving.grpc_api.ranking_service import RankingService

log = logging.getLogger(__name__)


class GrpcServer:
    def __init__(self, feeds: FeedService, host: str, port: int, workers: int = 8) -> None:
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grpc"),
            options=[("grpc.so_reuseport", 0)],
        )
        add_RankingServicer_to_server(RankingService(feeds), self.server)  # type: ignore[no-untyped-call]
        #: the port bound (a requested 0 picks a free one)
        try:
            self.port = self.server.add_insecure_port(f"{host}:{port}")
        except RuntimeError as e:  # grpcio raises where older versions returned 0
            raise OSError(f"gRPC: could not bind {host}:{port}: {e}") from None
        if self.port == 0:
            raise OSError(f"gRPC: could not bind {host}:{port}")
        self.address = f"{host}:{self.port}"

    def start(self) -> GrpcServer:
        self.server.start()
        log.info("gRPC ranking service on %s", self.address)
        return self

    def stop(self, grace_s: float = 5.0) -> None:
        """Stops taking calls and lets the ones in flight finish for up to ``grace_s``."""
        self.server.stop(grace_s).wait()

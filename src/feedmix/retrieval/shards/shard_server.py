"""One index shard behind gRPC (``feedmix index shard-serve``): top ``k`` for a batch of query vectors.

Two unary methods of the service ``feedmix.v1.RetrievalShard``, their bytes described in
:mod:`feedmix.retrieval.shards.wire`: ``Search`` and ``Info`` (JSON: shard, kind, dim, count, version,
the content version it was built from), which a coordinator reads once to learn the index's dimension.

The shard is an :class:`~feedmix.retrieval.ann.index_handle.IndexHandle` over the shard's published
directory, so a rebuilt shard is swapped in while it serves (``watch_interval_s``). A request whose
deadline has already passed when a worker picks it up is answered ``DEADLINE_EXCEEDED`` without
searching: the coordinator has stopped waiting for it. faiss runs one thread per search (the
process serves requests on ``workers`` threads instead, see
:mod:`feedmix.retrieval.ann.faiss_threads`).

``delay_s`` is for tests and benchmarks only: every search sleeps that long first (never past the
caller's deadline), which is how a slow shard is made on purpose.
"""

from __future__ import annotations

import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faiss
import grpc

from feedmix.retrieval.ann.exclusion_set import ExclusionSet
from feedmix.retrieval.ann.index_handle import IndexHandle
from feedmix.retrieval.ann.manifest import read_manifest
from feedmix.retrieval.shards.shard_build import shard_directory
from feedmix.retrieval.shards.wire import WireError, decode_request, encode_response

log = logging.getLogger(__name__)

SERVICE = "feedmix.v1.RetrievalShard"
SEARCH_METHOD = f"/{SERVICE}/Search"
INFO_METHOD = f"/{SERVICE}/Info"


class ShardServer:
    """Serves one shard's index until :meth:`stop`."""

    def __init__(
        self,
        handle: IndexHandle,
        shard: int,
        shards: int,
        *,
        source_version: str = "",
        host: str = "127.0.0.1",
        port: int = 0,
        workers: int = 2,
        delay_s: float = 0.0,
    ) -> None:
        self.handle = handle
        self.shard, self.shards = shard, shards
        self.source_version = source_version
        self.delay_s = delay_s
        # no port sharing: a second server on a taken port must fail, not split the traffic silently
        self._server = grpc.server(
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"shard-{shard}"),
            options=[("grpc.so_reuseport", 0)],
        )
        handlers = {
            "Search": grpc.unary_unary_rpc_method_handler(self._search),
            "Info": grpc.unary_unary_rpc_method_handler(self._info),
        }
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        self.port = self._server.add_insecure_port(f"{host}:{port}")
        if self.port == 0:
            raise OSError(f"cannot listen on {host}:{port}")
        self.address = f"{host}:{self.port}"

    def start(self) -> ShardServer:
        self._server.start()
        return self

    def stop(self, grace_s: float | None = 0.5) -> None:
        self._server.stop(grace_s).wait()

    def wait(self) -> None:
        self._server.wait_for_termination()

    def info(self) -> dict[str, Any]:
        cur = self.handle.current
        return {
            "shard": self.shard,
            "shards": self.shards,
            "kind": cur.index.kind,
            "dim": self.handle.dim,
            "count": len(cur.index),
            "version": cur.version,
            "source_version": self.source_version,
        }

    def _info(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        return json.dumps(self.info()).encode()

    def _search(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        if self.delay_s > 0:
            left = context.time_remaining()
            time.sleep(self.delay_s if left is None else max(0.0, min(self.delay_s, left)))
        left = context.time_remaining()
        if left is not None and left <= 0:
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline passed before the search")
        try:
            req = decode_request(request)
        except WireError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        if req.k < 1 or req.queries.shape[1] != self.handle.dim:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"need k >= 1 and dim {self.handle.dim}, got k={req.k}, dim={req.queries.shape[1]}",
            )
        exclude = ExclusionSet(req.exclude) if req.exclude.shape[0] else None
        ids, scores, version = self.handle.search_versioned(req.queries, req.k, exclude=exclude)
        return encode_response(ids, scores, self.shard, version)


def open_shard(
    index_dir: str | os.PathLike[str],
    shards: int,
    shard: int,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    workers: int = 2,
    delay_s: float = 0.0,
    watch_interval_s: float = 5.0,
) -> ShardServer:
    """Open shard ``shard`` of ``shards`` published under ``index_dir`` and start serving it."""
    faiss.omp_set_num_threads(1)
    directory = shard_directory(index_dir, shards, shard)
    manifest = read_manifest(directory)
    handle = IndexHandle.open(directory)
    if watch_interval_s > 0:
        handle.start_watching(directory, watch_interval_s)
    server = ShardServer(
        handle,
        shard,
        shards,
        source_version=str(manifest.raw.get("source_version", "")),
        host=host,
        port=port,
        workers=workers,
        delay_s=delay_s,
    )
    return server.start()

"""A content build whose posts are searched on shard servers: ``[retrieval] shards`` in the config.

The serving process keeps the build's ``query/`` data (community centroids, post vectors: what turns
a user into a query vector) and hands the search to one
:class:`~feedmix.retrieval.shards.scatter_gather.ScatterGatherIndex`, made once and kept across
content versions (its connections are the expensive part; a new content build needs rebuilt shards
anyway, `feedmix index build --shards`). The embedding source sees a
:class:`~feedmix.retrieval.content_index.ContentIndex` as before.
"""

from __future__ import annotations

from feedmix.retrieval.ann.index_handle import IncompatibleIndex, IndexLoader
from feedmix.retrieval.ann.manifest import Manifest
from feedmix.retrieval.content_index import ContentIndex, load_content_index
from feedmix.retrieval.shards.scatter_gather import HedgePolicy, ScatterGatherIndex


def parse_shard_addresses(text: str) -> list[list[str]]:
    """``"a0,a0b;a1"`` → ``[["a0", "a0b"], ["a1"]]`` (shards by ``;``, replicas by ``,``)."""
    shards = [[a.strip() for a in part.split(",") if a.strip()] for part in text.split(";") if part.strip()]
    if not shards or any(not s for s in shards):
        raise ValueError(f"no shard addresses in {text!r} (expected 'host:port,host:port;host:port')")
    return shards


def sharded_content_loader(
    shards: str, *, timeout_s: float = 0.1, hedge: HedgePolicy | None = None
) -> IndexLoader:
    addresses = parse_shard_addresses(shards)
    made: list[ScatterGatherIndex] = []

    def load(manifest: Manifest) -> ContentIndex:
        if not made:
            made.append(
                ScatterGatherIndex(
                    addresses,
                    dim=manifest.dim,
                    kind=manifest.kind,
                    count=manifest.count,
                    timeout_s=timeout_s,
                    hedge=hedge,
                )
            )
        elif made[0].dim != manifest.dim:
            raise IncompatibleIndex(f"content build has dim {manifest.dim}, the shards serve {made[0].dim}")
        return load_content_index(manifest, index=made[0])

    return load

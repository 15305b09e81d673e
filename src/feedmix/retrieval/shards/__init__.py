"""The post index split into shards served by separate processes, and the coordinator that queries them.

Pieces, one per module: ``partition`` (which shard holds a post: a hash of its id), ``shard_build``
(``feedmix index build --shards S``: one published index per shard, from the content build's
embeddings), ``wire`` (the request and response bytes), ``shard_server`` (``feedmix index
shard-serve``: one shard behind gRPC), ``scatter_gather`` (the coordinator: an :class:`AnnIndex` that
asks every shard in parallel under the request's deadline, hedges the slow one, merges the top ``k``
and says which shards answered) and ``coverage`` (how a caller learns that an answer was partial).
"""

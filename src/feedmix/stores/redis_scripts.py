"""Many calls of one Lua script in one round trip per Redis node, on one Redis or on a Cluster, with an
optional wait for replicas.

On one Redis a pipeline carries them all. redis-py refuses scripts in a *cluster* pipeline, and one
call at a time would cost a round trip per key; so on a cluster the calls are grouped by the master
that owns their first key's slot and each group is pipelined straight to that master's connection.
The calls of a group that met a moved slot or a node that went away (a failover) are sent again,
once, after the client has refreshed its slot map.

``wait_replicas=n`` ends each node's pipeline with ``WAIT n timeout``, on the same connection as the
writes (``WAIT`` counts the writes of its own connection): the calls only succeed once ``n``
replicas hold them, so a write acknowledged here survives the loss of its master (Redis replicates
asynchronously otherwise, and a failover drops what the replica had not yet received). Fewer
replicas in time raise ``NotReplicated``: the writes may or may not survive, so the caller treats
the call as failed.

Sending a call again is only safe for scripts whose second run does no harm: callers say so by
using this (the event log's append and the shared aggregates are idempotent; a spend hold sent twice
only reserves more, so a budget can be under-spent, never over-spent).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import redis
from redis.cluster import RedisCluster
from redis.commands.core import Script

from feedmix.stores.errors import StoreUnavailable
from feedmix.stores.redis_conn import RedisClient

Call = tuple[Sequence[Any], Sequence[Any]]  # (keys, args)
_GONE = (redis.ConnectionError, redis.TimeoutError)
_MOVED = (redis.exceptions.MovedError, redis.exceptions.AskError, redis.exceptions.TryAgainError)


class NotReplicated(StoreUnavailable):
    """The writes reached their master but not ``wait_replicas`` replicas in time."""


def run_scripts(
    client: RedisClient,
    script: Script,
    calls: Sequence[Call],
    *,
    wait_replicas: int = 0,
    wait_timeout_ms: int = 100,
) -> list[Any]:
    """The replies of ``script`` for each ``(keys, args)`` call, in call order."""
    if not calls:
        return []
    if not isinstance(client, RedisCluster):
        pipe = client.pipeline(transaction=False)
        replies = _send(pipe, script, calls, range(len(calls)), wait_replicas, wait_timeout_ms)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies
    cluster: Any = client  # redis-py's cluster node API is untyped
    results: list[Any] = [None] * len(calls)
    todo = list(range(len(calls)))
    for attempt in range(2):
        by_node: dict[str, list[int]] = defaultdict(list)
        for i in todo:
            by_node[cluster.get_node_from_key(calls[i][0][0]).name].append(i)
        retry: list[int] = []
        for name, indexes in by_node.items():
            node = cluster.get_node(node_name=name)
            try:
                pipe = node.redis_connection.pipeline(transaction=False)
                replies = _send(pipe, script, calls, indexes, wait_replicas, wait_timeout_ms)
            except _GONE:
                retry += indexes
                continue
            for i, reply in zip(indexes, replies, strict=True):
                if isinstance(reply, _MOVED):
                    retry.append(i)
                elif isinstance(reply, Exception):
                    raise reply
                else:
                    results[i] = reply
        if not retry:
            return results
        if attempt == 0:
            try:
                cluster.nodes_manager.initialize()  # the slot map after the failover
            except redis.RedisError as exc:
                raise StoreUnavailable(f"cluster slot map refresh failed: {exc}") from exc
        todo = sorted(retry)
    raise StoreUnavailable(
        f"{len(todo)} script calls found no master for their slots (a failover under way?)"
    )


def _send(
    pipe: Any, script: Script, calls: Sequence[Call], indexes: Sequence[int], wait: int, wait_ms: int
) -> list[Any]:
    for i in indexes:
        script(keys=calls[i][0], args=calls[i][1], client=pipe)
    if wait:
        pipe.execute_command("WAIT", wait, wait_ms)
    replies = list(pipe.execute(raise_on_error=False))
    if wait:
        replicated = replies.pop()
        if (
            not isinstance(replicated, Exception)
            and int(replicated) < wait
            and not any(isinstance(r, Exception) for r in replies)
        ):
            raise NotReplicated(f"writes reached {replicated} of {wait} replicas within {wait_ms} ms")
    return replies

"""Which shard holds a post: a hash of its id, modulo the number of shards.

Why a hash and not row ranges: post ids grow with time, so ranges would put every new post on the last
shard (the one the fresh content and its traffic go to) and grow it alone; a hash spreads posts, new
and old, evenly (sizes within a few ``√n`` of ``n/S``) and needs no table of boundaries. It also lets
the coordinator send each excluded id (seen posts, NSFW posts) to the one shard that holds it, so a
request's exclusion list crosses the network once in total instead of once per shard.

The hash is splitmix64's finaliser (a fixed bijection of 64-bit integers that mixes every input bit
into every output bit), vectorised in numpy: a build and a coordinator, in any process, agree on it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix(ids: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser of each id (wrapping 64-bit arithmetic)."""
    x = np.asarray(ids, dtype=np.int64).astype(np.uint64)
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def shard_of(ids: npt.ArrayLike, shards: int) -> npt.NDArray[np.int64]:
    """The shard (``0..shards-1``) of each id."""
    if shards < 1:
        raise ValueError("shards must be at least 1")
    out: npt.NDArray[np.int64] = (mix(ids) % np.uint64(shards)).astype(np.int64)
    return out

"""``feedmix bench cache``: which shareable work is worth a cache, measured. For each candidate (the
trending list of a window, one community's top recent posts, a page's post feature rows), the time to
compute it (for the rows: read them from the online store in Redis) against the time to read it from
each cache backend (in-process, Redis, Memcached when a URL is given), per request, after the cache is
warm. A cache pays where reading is cheaper than computing; a network cache also pays where many
replicas would otherwise compute the same thing, which this single-process measurement does not see,
so the numbers are the per-request side of the decision.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from feedmix.bench.json_report import emit
from feedmix.bench.latency_summary import percentiles_ms


def _time(fn: Callable[[], Any], n: int) -> dict[str, float]:
    fn()  # warm
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return percentiles_ms(samples)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from feedmix.components.sources.trending_source import TrendingSource
    from feedmix.corpus.reddit_corpus import RedditCorpus, default_data_dir
    from feedmix.retrieval.rows import top_recent_rows
    from feedmix.stores.backends import open_cache
    from feedmix.stores.read_through import ReadThrough

    source = {"demo": None, "full": default_data_dir()}.get(args.posts, args.posts)
    corpus = RedditCorpus.load(source)
    now = corpus.now
    communities = np.argsort(-np.bincount(corpus.community))[: args.communities].astype(np.int64)
    since = now - 30 * 86400.0
    backends = {"memory": "memory://", **({"redis": args.redis_url} if args.redis_url else {})}
    if args.memcached_url:
        backends["memcached"] = args.memcached_url
    out: dict[str, Any] = {"posts": len(corpus), "communities_per_request": len(communities), "work": {}}

    def trending_compute() -> Any:
        return TrendingSource("t", corpus, open_cache("memory://?max_entries=1"))._rank(
            int(now // 60), 7.0, 1.5
        )

    def community_compute() -> Any:
        return top_recent_rows(corpus, communities, since, 40)

    out["work"]["trending_list"] = {"compute": _time(trending_compute, args.n)}
    out["work"]["community_top_posts"] = {"compute": _time(community_compute, args.n)}
    for name, url in backends.items():
        print(f"bench cache: {name}", file=sys.stderr)
        cache = open_cache(url)
        try:
            trending = TrendingSource("t", corpus, cache)
            out["work"]["trending_list"][f"read from {name}"] = _time(
                partial(trending.ranked, now, 7.0, 1.5), args.n
            )
            lists: ReadThrough[int, Any] = ReadThrough(
                "bench-community",
                cache,
                lambda keys: [top_recent_rows(corpus, [k], since, 40) for k in keys],
                lambda rows: rows.astype("<i8").tobytes(),
                lambda raw: np.frombuffer(raw, dtype="<i8"),
                ttl_s=300,
                key_of=lambda k: f"bench:community:{k}",
            )
            keys = communities.tolist()
            out["work"]["community_top_posts"][f"read from {name}"] = _time(
                partial(lists.get_many, keys), args.n
            )
        finally:
            cache.close()
    if args.redis_url:
        out["work"]["post_feature_rows"] = _post_rows(args, corpus, backends)
    return out


def _post_rows(args: argparse.Namespace, corpus: Any, backends: dict[str, str]) -> dict[str, Any]:
    """A page's post feature rows (``--candidates`` posts, every post feature): read from the online
    store in Redis (one MGET; the 'compute' of this work) against the same rows from each cache."""
    import uuid

    from feedmix.features.backends import open_online_store
    from feedmix.features.definitions import default_registry
    from feedmix.features.entity_keys import post_keys
    from feedmix.stores.backends import open_cache
    from feedmix.stores.read_through import ReadThrough

    registry = default_registry()
    names = [d.name for d in registry.by_entity("post")]
    prefix = f"bench-cache-{uuid.uuid4().hex[:8]}"
    store = open_online_store(f"{args.redis_url}?prefix={prefix}&timeout_ms=1000", registry)
    rng = np.random.default_rng(5)
    ids = corpus.ids[rng.choice(len(corpus.ids), size=args.candidates, replace=False)]
    keys = post_keys(ids)
    store.write("post", keys, {n: rng.integers(0, 1000, size=len(ids)) for n in names}, ts=time.time())

    def rows(post_keys_: list[bytes]) -> list[Any]:
        read = store.read("post", np.asarray(post_keys_, dtype=keys.dtype), names)
        table = np.column_stack([read.columns[n].astype(np.float64) for n in names])
        return list(table)

    result: dict[str, Any] = {
        "candidates": len(ids),
        "features": len(names),
        "compute": _time(lambda: store.read("post", keys, names), args.n),
    }
    try:
        for name, url in backends.items():
            cache = open_cache(url)
            try:
                cached: ReadThrough[bytes, Any] = ReadThrough(
                    "bench-post-rows",
                    cache,
                    rows,
                    lambda row: np.asarray(row, dtype="<f8").tobytes(),
                    lambda raw: np.frombuffer(raw, dtype="<f8"),
                    ttl_s=1.0,
                    key_of=lambda k: f"{prefix}:row:{k.decode()}",
                )
                key_list = keys.tolist()
                result[f"read from {name}"] = _time(partial(cached.get_many, key_list), args.n)
            finally:
                cache.close()
    finally:
        store.close()
        import redis

        client = redis.Redis.from_url(args.redis_url)
        stale = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        if stale:
            client.delete(*stale)
        client.close()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="feedmix bench cache", description=__doc__.splitlines()[0])
    ap.add_argument("--posts", default="demo", help="'demo', 'full' (428k posts) or a posts file")
    ap.add_argument(
        "--communities", type=int, default=10, help="communities a request reads (a user's joined)"
    )
    ap.add_argument("--n", type=int, default=300, help="timed repetitions of each")
    ap.add_argument(
        "--candidates",
        type=int,
        default=1000,
        help="posts whose feature rows a page reads (with --redis-url)",
    )
    ap.add_argument("--redis-url", default=None, help="also read from this Redis (redis://127.0.0.1:6379/0)")
    ap.add_argument("--memcached-url", default=None, help="also read from this memcached")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    result = run(args)
    emit(result, args.out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

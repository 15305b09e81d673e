"""``feedmix bench shards``: the content index split into 1, 2 and 4 shard processes behind the
scatter-gather coordinator, against the unsharded index.

For each index kind (the production default ``faiss_ivf_fp16`` and ``exact``) and each shard count:
recall@100 against exact search over the whole corpus, p50/p99 latency of one coordinator search
(one query at a time, over gRPC to real ``feedmix index shard-serve`` processes), and CPU per request
(the coordinator's process CPU plus every shard process' CPU, from ``/proc``, over the measured run,
divided by the requests). Then one shard is killed and the same queries run again: coverage, recall
and latency of the partial answers. The unsharded index searched in process is the baseline.

Queries are user-like: a blend of the centroids of three random communities and one random post's
vector, as the ``user_embedding`` hydrator makes them (then normalised). Builds are cached in
``--state`` (the content build, and each shard build while its kind and content version match).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.bench.json_report import emit
from feedmix.bench.latency_summary import percentiles_ms
from feedmix.bench.local_shards import process_cpu_s, start_shards

FloatArray = npt.NDArray[np.float32]


def _say(msg: str) -> None:
    print(f"bench shards: {msg}", file=sys.stderr, flush=True)


def ensure_content(corpus: Any, root: Path, kind: str) -> Any:
    """The content build of ``corpus`` under ``root/content`` (built unless one of it is there)."""
    from feedmix.retrieval.ann.manifest import ManifestError, read_manifest
    from feedmix.retrieval.content_index import build_content_index, corpus_fingerprint

    try:
        m = read_manifest(root / "content")
        if m.raw.get("corpus_fingerprint") == corpus_fingerprint(corpus) and m.kind == kind:
            return m
    except ManifestError:
        pass
    _say(f"building the content index ({len(corpus):,} posts, {kind})")
    build_content_index(corpus, root / "content", kind, threads=2, progress=False)
    return read_manifest(root / "content")


def ensure_shards(root: Path, shards: int, kind: str, source_version: str) -> None:
    from feedmix.retrieval.ann.manifest import ManifestError, read_manifest
    from feedmix.retrieval.shards.shard_build import build_shards, shard_directory

    try:
        ms = [read_manifest(shard_directory(root, shards, i)) for i in range(shards)]
        if all(m.kind == kind and m.raw.get("source_version") == source_version for m in ms):
            return
    except ManifestError:
        pass
    build_shards(root, shards, kind, threads=2, say=_say)


def user_like_queries(content: Any, n: int, seed: int) -> FloatArray:
    rng = np.random.default_rng(seed)
    cents = np.asarray(content.centroids, dtype=np.float32)
    posts = content.post_vectors
    out = np.empty((n, cents.shape[1]), dtype=np.float32)
    for i in range(n):
        c = cents[rng.choice(cents.shape[0], 3, replace=False)].sum(axis=0)
        c /= max(float(np.linalg.norm(c)), 1e-9)
        p = np.asarray(posts[rng.integers(posts.shape[0])], dtype=np.float32)
        p /= max(float(np.linalg.norm(p)), 1e-9)
        v = 0.5 * c + 0.5 * p
        out[i] = v / max(float(np.linalg.norm(v)), 1e-9)
    return out


def exact_truth(
    ids: npt.NDArray[np.int64], vectors: FloatArray, q: FloatArray, k: int
) -> npt.NDArray[np.int64]:
    out = np.empty((q.shape[0], k), dtype=np.int64)
    for start in range(0, q.shape[0], 64):
        s = q[start : start + 64] @ vectors.T
        top = np.argpartition(-s, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(s, top, axis=1), axis=1)
        out[start : start + 64] = ids[np.take_along_axis(top, order, axis=1)]
    return out


def recall_at(found: npt.NDArray[np.int64], truth: npt.NDArray[np.int64]) -> float:
    hits = sum(np.intersect1d(f[f >= 0], t).shape[0] for f, t in zip(found, truth, strict=True))
    return round(float(hits) / truth.size, 4)


def measure(
    search: Any, q: FloatArray, k: int, truth: npt.NDArray[np.int64], pids: list[int], warmup: int
) -> dict[str, Any]:
    """One query at a time: latency, recall, CPU per request (this process plus ``pids``), coverage."""
    for i in range(min(warmup, q.shape[0])):
        search(q[i : i + 1], k)
    lat, found, answered = [], [], []
    cpu0 = time.process_time() + sum(process_cpu_s(p) for p in pids)
    for i in range(q.shape[0]):
        t0 = time.perf_counter()
        ids, coverage = search(q[i : i + 1], k)
        lat.append(time.perf_counter() - t0)
        found.append(ids[0])
        answered.append(1.0 if coverage is None else coverage.fraction)
    cpu = time.process_time() + sum(process_cpu_s(p) for p in pids) - cpu0
    return {
        "recall_at_k": recall_at(np.stack(found), truth),
        "latency": percentiles_ms(lat),
        "cpu_ms_per_request": round(cpu * 1000.0 / q.shape[0], 3),
        "mean_coverage": round(float(np.mean(answered)), 4),
        "partial_requests": int(sum(1 for a in answered if a < 1.0)),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    import faiss

    from feedmix.corpus.reddit_corpus import RedditCorpus, default_data_dir
    from feedmix.retrieval.ann.index_handle import IndexHandle
    from feedmix.retrieval.content_index import ContentIndex, load_content_index
    from feedmix.retrieval.shards.scatter_gather import HedgePolicy, ScatterGatherIndex
    from feedmix.retrieval.text_embeddings import TextEmbeddings

    faiss.omp_set_num_threads(1)
    source = {"demo": None, "full": default_data_dir()}.get(args.posts, args.posts)
    corpus = RedditCorpus.load(source)
    root = Path(args.state) / f"posts-{len(corpus)}"
    manifest = ensure_content(corpus, root, args.kind)
    content = IndexHandle.open(root / "content", loader=load_content_index).current.index
    assert isinstance(content, ContentIndex)
    emb = TextEmbeddings.load(manifest.directory / str(manifest.raw["embeddings_dir"]), with_model=False)
    q = user_like_queries(content, args.queries, args.seed)
    truth = exact_truth(emb.ids, emb.vectors, q, args.k)
    counts = [int(s) for s in args.shards.split(",")]
    out: dict[str, Any] = {
        "posts": len(corpus),
        "queries": args.queries,
        "k": args.k,
        "timeout_ms": args.timeout_ms,
        "cpus": os.cpu_count(),
        "partition": "splitmix64(post id) mod shards",
        "kinds": {},
    }

    def in_process(x: FloatArray, k: int) -> tuple[Any, Any]:
        return content.search(x, k)[0], None

    out["unsharded_in_process"] = {
        "kind": content.kind,
        **measure(in_process, q, args.k, truth, [], args.warmup),
    }
    _say(f"unsharded {content.kind}: {out['unsharded_in_process']}")
    for kind in (args.kind, "exact"):
        per_kind: dict[str, Any] = {}
        for shards in counts:
            ensure_shards(root, shards, kind, manifest.version)
            procs = start_shards(root, shards, workers=2)
            index = ScatterGatherIndex.connect(
                [[p.address] for p in procs], timeout_s=args.timeout_ms / 1000.0, hedge=HedgePolicy()
            )
            try:

                def sharded(x: FloatArray, k: int, index: ScatterGatherIndex = index) -> tuple[Any, Any]:
                    res = index.search_covered(x, k)
                    return res.ids, res.coverage

                pids = [p.pid for p in procs]
                row: dict[str, Any] = measure(sharded, q, args.k, truth, pids, args.warmup)
                row["hedges"] = index.stats["hedges"]
                row["hedges_won"] = index.stats["hedges_won"]
                row["shard_sizes"] = [int(p.info["count"]) for p in procs]
                if shards > 1:
                    victim = procs[-1]
                    victim.kill()
                    killed = measure(sharded, q, args.k, truth, pids[:-1], args.warmup)
                    killed["killed_shard"] = victim.shard
                    # what the coverage names, from one search
                    killed["coverage_example"] = index.search_covered(q[:1], args.k).coverage.as_dict()  # type: ignore[union-attr]
                    row["one_shard_killed"] = killed
                per_kind[str(shards)] = row
                _say(f"{kind} x{shards}: {json.dumps(row)}")
            finally:
                index.close()
                for p in procs:
                    p.stop()
        out["kinds"][kind] = per_kind
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="feedmix bench shards", description=__doc__.splitlines()[0])
    ap.add_argument("--posts", default="full", help="'demo', 'full' (428k posts) or a posts file")
    ap.add_argument("--kind", default="faiss_ivf_fp16", help="the ANN kind compared with exact")
    ap.add_argument("--shards", default="1,2,4", help="shard counts, comma-separated")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--timeout-ms", type=float, default=200.0, help="the coordinator's deadline per search")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--state", default=os.path.join("var", "bench", "shards"), help="cached builds")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    result = run(args)
    emit(result, args.out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``feedmix index build --shards S``: the content build's post vectors split into ``S`` published indexes.

The shards index the vectors the content build already trained (its ``embeddings/``), so every shard
lives in the same space as the query vectors a coordinator computes from that build's ``query/`` data;
each shard's manifest records the content version it came from (``source_version``), and a shard
server reports it. Posts go to shards by :func:`~feedmix.retrieval.shards.partition.shard_of`.

Layout, beside the content build::

    <out>/content/                  the content build (query data; its full index serves unsharded)
    <out>/content_shards/<S>/<i>/   manifest.json, v<version>/index/   shard i of S

Each shard directory is published like any index build (new version directory, manifest last), so a
shard server watching it swaps a rebuilt shard in while it serves.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from feedmix.retrieval.ann.manifest import describe_files, prune_versions, read_manifest, write_manifest
from feedmix.retrieval.ann.post_index_build import new_version
from feedmix.retrieval.ann.registry import build_index, resolve_kind
from feedmix.retrieval.shards.partition import shard_of
from feedmix.retrieval.text_embeddings import TextEmbeddings

SHARDS_DIR = "content_shards"
PARTITION = "splitmix64(post id) mod shards"


def shard_directory(root: str | os.PathLike[str], shards: int, shard: int) -> Path:
    """Where shard ``shard`` of ``shards`` is published under an index directory ``root``."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not one of 0..{shards - 1}")
    return Path(root) / SHARDS_DIR / str(shards) / str(shard)


def build_shards(
    root: str | os.PathLike[str],
    shards: int,
    kind: str,
    params: Mapping[str, Any] | None = None,
    *,
    content_dir: str | os.PathLike[str] | None = None,
    threads: int = 2,
    keep_versions: int = 2,
    say: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Index the current content build's vectors in ``shards`` shards under ``root``; a summary."""
    content = read_manifest(Path(content_dir) if content_dir is not None else Path(root) / "content")
    emb_dir = content.raw.get("embeddings_dir")
    if not isinstance(emb_dir, str):
        raise ValueError(f"content build {content.version} lists no embeddings_dir")
    emb = TextEmbeddings.load(content.directory / emb_dir, with_model=False)
    part = shard_of(emb.ids, shards)
    summary: dict[str, Any] = {"shards": shards, "source_version": content.version, "partition": PARTITION}
    built = []
    for i in range(shards):
        rows = np.flatnonzero(part == i)
        shard_kind = resolve_kind(kind, rows.shape[0])
        t0 = time.perf_counter()
        index = build_index(emb.ids[rows], emb.vectors[rows], shard_kind, params, threads=threads)
        out = shard_directory(root, shards, i)
        out.mkdir(parents=True, exist_ok=True)
        version = new_version()
        staging, final = out / f".staging-v{version}", out / f"v{version}"
        try:
            index.save(staging / "index")
            os.replace(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        manifest = {
            "version": version,
            "kind": index.kind,
            "dim": index.dim,
            "count": len(index),
            "params": index.params,
            "index_dir": f"{final.name}/index",
            "shard": i,
            "shards": shards,
            "partition": PARTITION,
            "source_version": content.version,
            "built_at": time.time(),
            "files": describe_files(out, [f"{final.name}/index"]),
        }
        write_manifest(out, manifest)
        prune_versions(out, keep=keep_versions, current=version)
        seconds = round(time.perf_counter() - t0, 2)
        say(f"shard {i}/{shards}: {len(index):,} posts, {index.kind}, published {version} in {seconds} s")
        built.append(
            {"shard": i, "version": version, "kind": index.kind, "count": len(index), "seconds": seconds}
        )
    summary["built"] = built
    return summary

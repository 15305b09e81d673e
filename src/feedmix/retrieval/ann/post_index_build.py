"""``feedmix index build``: text embeddings for every post, an ANN index over them, a manifest.

Everything of one build goes into a new ``v<version>/`` directory beside the previous ones
(``index/`` for :func:`load_index`, ``embeddings/`` for the vectors and the text model), and
``manifest.json`` is replaced last (see :mod:`feedmix.retrieval.ann.manifest`), so a server watching
the directory with :class:`IndexHandle` switches to the new build only once it is complete.

``extras`` add directories of their own to the same version (the content index's ``query/``: community
centroids and post vectors, see :mod:`feedmix.retrieval.content_index`); they are written from the
freshly trained embeddings, listed in the manifest with checksums (as ``<name>_dir``) and published
in the same step as the index.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits
from tqdm import tqdm

from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.ann.manifest import describe_files, prune_versions, write_manifest
from feedmix.retrieval.ann.registry import DEFAULT_KIND, build_index
from feedmix.retrieval.text_embeddings import TextEmbeddings, train_text_embeddings

#: writes one extra directory of a build from its embeddings (``write(embeddings, directory)``)
ExtraWriter = Callable[[TextEmbeddings, Path], None]


def new_version() -> str:
    """Sortable by time (UTC, milliseconds) and unique across concurrent builders."""
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
    return f"{stamp}{int(now * 1000) % 1000:03d}Z-{secrets.token_hex(3)}"


def build_post_index(
    corpus: RedditCorpus,
    out_dir: str | os.PathLike[str],
    kind: str = DEFAULT_KIND,
    params: Mapping[str, Any] | None = None,
    *,
    dim: int = 64,
    seed: int = 0,
    threads: int = 2,
    keep_versions: int = 3,
    progress: bool = True,
    extras: Mapping[str, ExtraWriter] | None = None,
    manifest_extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train, index, save, publish; returns the manifest that was written.

    ``threads`` is for the build only (faiss/usearch, and the BLAS pool of the SVD: on a small shared
    machine more BLAS threads than cores made the 42k-post SVD 3-6x slower, so it gets no more than
    ``threads`` either); a server searching the result should run ``faiss.omp_set_num_threads(1)``,
    see :mod:`feedmix.retrieval.ann.faiss_threads`. ``extras`` write more directories into the
    version (see the module docstring); ``manifest_extra`` adds keys to the manifest.
    """
    extras = dict(extras or {})
    reserved = {"index", "embeddings"}
    if reserved & set(extras):
        raise ValueError(f"extra directories may not be named {sorted(reserved)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    version = new_version()
    staging = out / f".staging-v{version}"
    final = out / f"v{version}"
    timings: dict[str, float] = {}
    steps = tqdm(total=4, desc="index build", unit="step", disable=not progress)
    try:
        steps.set_postfix_str("text embeddings")
        t0 = time.perf_counter()
        with threadpool_limits(max(1, threads), "blas"):
            emb = train_text_embeddings(corpus, dim=dim, seed=seed)
        timings["embeddings_s"] = time.perf_counter() - t0
        steps.update()

        steps.set_postfix_str(f"{kind} index")
        t0 = time.perf_counter()
        index = build_index(emb.ids, emb.vectors, kind, params, threads=threads, progress=progress)
        timings["index_s"] = time.perf_counter() - t0
        steps.update()

        steps.set_postfix_str("save")
        t0 = time.perf_counter()
        index.save(staging / "index")
        emb.save(staging / "embeddings")
        for name, write in extras.items():
            write(emb, staging / name)
        os.replace(staging, final)
        timings["save_s"] = time.perf_counter() - t0
        steps.update()

        steps.set_postfix_str("manifest")
        t0 = time.perf_counter()
        dirs = [f"{final.name}/{name}" for name in ("index", "embeddings", *extras)]
        files = describe_files(out, dirs)
        manifest: dict[str, Any] = {
            "version": version,
            "kind": index.kind,
            "dim": index.dim,
            "count": len(index),
            "params": index.params,
            "index_dir": f"{final.name}/index",
            "embeddings_dir": f"{final.name}/embeddings",
            "corpus": corpus.source_path,
            "embedding_model": {"name": "tfidf-svd", "dim": dim, "seed": seed},
            "built_at": time.time(),
            **{f"{name}_dir": f"{final.name}/{name}" for name in extras},
            **(manifest_extra or {}),
            "files": files,
        }
        timings["checksum_s"] = time.perf_counter() - t0
        manifest["timings"] = {k: round(v, 3) for k, v in timings.items()}
        write_manifest(out, manifest)
        steps.update()
    finally:
        steps.close()
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    prune_versions(out, keep=keep_versions, current=version)
    return {"format": 1, **manifest}

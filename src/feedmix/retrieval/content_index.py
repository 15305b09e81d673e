"""The content index: post text embeddings in an ANN index, plus what turns a user into a query.

A content build is :func:`~feedmix.retrieval.ann.post_index_build.build_post_index` (TF-IDF + SVD
vectors of every post, an ANN index over them) with one more directory in the same version, ``query/``:

* ``centroids.npy`` ``[communities, d]`` float32: each community's mean post vector, normalised; rows
  named by ``communities.json`` (by name, so a server whose corpus numbers communities differently,
  or has communities the build did not, still maps them right);
* ``post_ids.npy`` (sorted int64) and ``post_vectors.npy`` (float16, same order): the vector of any
  post, to embed the posts a user engaged with. float16 halves the bytes (55 MB at 428k posts) and
  changes a blended query vector by about 1e-3, far below what moves a top-k.

Everything opens memory-mapped, so a server reads only the rows its users touch, and the whole
version (index and ``query/``) is what :class:`ContentIndex` holds: a hot swap replaces both at once.
The manifest also records the corpus fingerprint, so a server can tell a build of another corpus.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.ann.index_handle import IncompatibleIndex
from feedmix.retrieval.ann.manifest import Manifest, verify_files
from feedmix.retrieval.ann.post_index_build import build_post_index
from feedmix.retrieval.ann.protocol import AnnIndex, DelegatingIndex, IdArray
from feedmix.retrieval.ann.registry import load_index
from feedmix.retrieval.text_embeddings import TextEmbeddings

QUERY_DIR = "query"
CENTROIDS_FILE = "centroids.npy"
COMMUNITIES_FILE = "communities.json"
POST_IDS_FILE = "post_ids.npy"
POST_VECTORS_FILE = "post_vectors.npy"

FloatArray = npt.NDArray[np.float32]


def corpus_fingerprint(corpus: RedditCorpus) -> str:
    """Identifies the posts a build indexed (count and a hash of the ids, in corpus order)."""
    digest = hashlib.sha256(np.ascontiguousarray(corpus.ids, dtype="<i8").tobytes()).hexdigest()
    return f"{len(corpus)}:{digest[:16]}"


def community_centroids(vectors: FloatArray, community: npt.ArrayLike, n_communities: int) -> FloatArray:
    """Normalised mean vector per community (a zero row for a community without posts)."""
    codes = np.asarray(community, dtype=np.int64)
    n = codes.shape[0]
    one_hot = sp.csr_matrix((np.ones(n, dtype=np.float32), (codes, np.arange(n))), shape=(n_communities, n))
    sums = np.asarray(one_hot @ vectors, dtype=np.float32)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    out: FloatArray = np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)
    return out


def query_data_writer(corpus: RedditCorpus) -> Any:
    """The ``extras`` writer of ``build_post_index`` that fills ``query/`` for ``corpus``."""

    def write(emb: TextEmbeddings, directory: Path) -> None:
        if emb.ids.shape != corpus.ids.shape or not np.array_equal(emb.ids, corpus.ids):
            raise ValueError("embeddings are not in corpus order")
        directory.mkdir(parents=True, exist_ok=True)
        centroids = community_centroids(emb.vectors, corpus.community, len(corpus.communities))
        np.save(directory / CENTROIDS_FILE, centroids)
        (directory / COMMUNITIES_FILE).write_text(json.dumps(list(corpus.communities)))
        order = np.argsort(emb.ids, kind="stable")
        np.save(directory / POST_IDS_FILE, np.ascontiguousarray(emb.ids[order], dtype=np.int64))
        np.save(directory / POST_VECTORS_FILE, np.ascontiguousarray(emb.vectors[order], dtype=np.float16))

    return write


def build_content_index(
    corpus: RedditCorpus,
    out_dir: str | os.PathLike[str],
    kind: str,
    params: Mapping[str, Any] | None = None,
    *,
    dim: int = 64,
    seed: int = 0,
    threads: int = 2,
    keep_versions: int = 3,
    progress: bool = True,
) -> dict[str, Any]:
    """Embed, index and publish ``corpus`` with its ``query/`` data; returns the manifest."""
    return build_post_index(
        corpus,
        out_dir,
        kind,
        params,
        dim=dim,
        seed=seed,
        threads=threads,
        keep_versions=keep_versions,
        progress=progress,
        extras={QUERY_DIR: query_data_writer(corpus)},
        manifest_extra={"corpus_fingerprint": corpus_fingerprint(corpus), "role": "content"},
    )


class ContentIndex(DelegatingIndex):
    """One content build: the ANN index (searched like any :class:`AnnIndex`) and its query data."""

    def __init__(
        self,
        index: AnnIndex,
        community_names: Sequence[str],
        centroids: FloatArray,
        post_ids: IdArray,
        post_vectors: npt.NDArray[np.float16],
        corpus_fingerprint: str = "",
    ) -> None:
        if centroids.ndim != 2 or centroids.shape != (len(community_names), index.dim):
            raise IncompatibleIndex(
                f"centroids have shape {centroids.shape}, expected ({len(community_names)}, {index.dim})"
            )
        if post_vectors.ndim != 2 or post_vectors.shape != (post_ids.shape[0], index.dim):
            raise IncompatibleIndex(f"post vectors have shape {post_vectors.shape} for {len(post_ids)} ids")
        self.index = index
        self.centroids = centroids
        self.post_ids = post_ids
        self.post_vectors = post_vectors
        self.corpus_fingerprint = corpus_fingerprint
        self._row_of = {name: i for i, name in enumerate(community_names)}

    # -- query data -------------------------------------------------------------------------------

    def community_vector(self, names: Sequence[str]) -> FloatArray | None:
        """Normalised mean of the named communities' centroids; None if none of them is known."""
        rows = [r for r in (self._row_of.get(n, -1) for n in names) if r >= 0]
        if not rows:
            return None
        return _unit(np.asarray(self.centroids[rows], dtype=np.float32).sum(axis=0))

    def posts_vector(self, post_ids: npt.ArrayLike) -> FloatArray | None:
        """Normalised mean of these posts' vectors; None if none of them is indexed."""
        ids = np.asarray(post_ids, dtype=np.int64)
        if ids.size == 0 or self.post_ids.shape[0] == 0:
            return None
        pos = np.minimum(np.searchsorted(self.post_ids, ids), self.post_ids.shape[0] - 1)
        found = pos[self.post_ids[pos] == ids]
        if found.size == 0:
            return None
        return _unit(np.asarray(self.post_vectors[np.sort(found)], dtype=np.float32).sum(axis=0))


def _unit(v: FloatArray) -> FloatArray | None:
    norm = float(np.linalg.norm(v))
    if not norm > 0:
        return None
    out: FloatArray = (v / norm).astype(np.float32)
    return out


def load_content_index(manifest: Manifest, index: AnnIndex | None = None) -> ContentIndex:
    """The :class:`~feedmix.retrieval.ann.index_handle.IndexHandle` loader of content builds.

    The handle has verified the index files; this verifies ``query/`` the same way (sizes and
    checksums before anything is mapped) and refuses a build without one. ``index`` searches in
    place of the build's own index (the shards of a sharded deployment).
    """
    query_dir = manifest.raw.get(f"{QUERY_DIR}_dir")
    if not isinstance(query_dir, str):
        raise IncompatibleIndex(f"build {manifest.version} has no {QUERY_DIR}/ data (not a content build)")
    verify_files(manifest, under=query_dir)
    q = manifest.directory / query_dir
    names = json.loads((q / COMMUNITIES_FILE).read_text())
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise IncompatibleIndex(f"{q / COMMUNITIES_FILE} is not a list of names")
    return ContentIndex(
        index if index is not None else load_index(manifest.index_path, mmap=True),
        names,
        np.load(q / CENTROIDS_FILE, mmap_mode="r", allow_pickle=False),
        np.load(q / POST_IDS_FILE, mmap_mode="r", allow_pickle=False),
        np.load(q / POST_VECTORS_FILE, mmap_mode="r", allow_pickle=False),
        corpus_fingerprint=str(manifest.raw.get("corpus_fingerprint", "")),
    )

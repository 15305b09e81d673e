"""``build_post_index``: embeddings, index and manifest in a new version directory, servable at once."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.ann import IndexHandle
from feedmix.retrieval.ann.manifest import read_manifest, verify_files
from feedmix.retrieval.ann.post_index_build import build_post_index
from feedmix.retrieval.text_embeddings import TextEmbeddings


def test_build_writes_a_verified_servable_version(tmp_path: Path, small_corpus: RedditCorpus) -> None:
    manifest = build_post_index(small_corpus, tmp_path, kind="faiss_hnsw", dim=16, progress=False)
    m = read_manifest(tmp_path)
    assert m.version == manifest["version"] and m.kind == "faiss_hnsw"
    assert (m.dim, m.count) == (16, len(small_corpus))
    verify_files(m)  # every file, embeddings included, matches its checksum
    assert {"embeddings_s", "index_s", "save_s", "checksum_s"} <= set(manifest["timings"])

    handle = IndexHandle.open(tmp_path)
    emb = TextEmbeddings.load(tmp_path / manifest["embeddings_dir"], with_model=False)
    ids, _ = handle.search(emb.vectors[:20], 5)
    # a post's own vector finds itself (allowing for exact duplicate titles in the same community)
    assert np.mean(ids[:, 0] == emb.ids[:20]) >= 0.9
    assert handle.version == manifest["version"]


def test_rebuild_is_picked_up_and_old_versions_are_pruned(tmp_path: Path, small_corpus: RedditCorpus) -> None:
    first = build_post_index(small_corpus, tmp_path, kind="exact", dim=8, keep_versions=2, progress=False)
    handle = IndexHandle.open(tmp_path)
    for _ in range(2):
        latest = build_post_index(
            small_corpus, tmp_path, kind="exact", dim=8, keep_versions=2, progress=False
        )
    outcome = handle.reload_if_changed(tmp_path)
    assert outcome.status == "swapped" and handle.version == latest["version"]
    versions = sorted(p.name for p in tmp_path.glob("v*"))
    assert len(versions) == 2 and f"v{first['version']}" not in versions
    assert not list(tmp_path.glob(".staging-*"))

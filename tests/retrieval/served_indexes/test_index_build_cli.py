"""``feedmix index build``: a content and a collaborative build, each published with a manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.ann.index_handle import IndexHandle
from feedmix.retrieval.ann.manifest import read_manifest, verify_files
from feedmix.retrieval.collab_index import (
    CollabIndex,
    NotEnoughInteractions,
    build_collab_index,
    load_collab_index,
)
from feedmix.retrieval.content_index import ContentIndex, corpus_fingerprint, load_content_index

from .conftest import GROUP_COMMUNITIES, USERS_PER_GROUP, Built, group_user


def test_content_build_is_published_with_its_query_data(built: Built, small_corpus: RedditCorpus) -> None:
    s = built.summary["content"]
    assert (s["kind"], s["count"], s["dim"]) == ("exact", len(small_corpus), 64)
    m = read_manifest(built.index_dir / "content")
    assert m.version == s["version"] and m.raw["corpus_fingerprint"] == corpus_fingerprint(small_corpus)
    verify_files(m)  # index, embeddings and query/ all match their checksums
    assert {p.split("/")[-1] for p in m.files if "/query/" in p} == {
        "centroids.npy",
        "communities.json",
        "post_ids.npy",
        "post_vectors.npy",
    }
    index = IndexHandle.open(built.index_dir / "content", loader=load_content_index).current.index
    assert isinstance(index, ContentIndex)
    # a community's centroid finds that community's posts
    vec = index.community_vector(["gaming"])
    assert vec is not None and abs(float(np.linalg.norm(vec)) - 1) < 1e-5
    ids, _ = index.search(vec, 50)
    communities = [
        small_corpus.communities[int(c)] for c in small_corpus.community[small_corpus.rows_of(ids[0])]
    ]
    assert communities.count("gaming") >= 45
    assert index.community_vector(["no-such-community"]) is None


def test_collab_build_learns_the_groups_of_the_log(built: Built) -> None:
    s = built.summary["collab"]
    assert s["users"] == len(GROUP_COMMUNITIES) * USERS_PER_GROUP
    m = read_manifest(built.index_dir / "collab")
    assert m.raw["metric"] == "inner_product" and m.raw["kind"] == "exact"  # auto: small catalogue
    verify_files(m)
    model = IndexHandle.open(built.index_dir / "collab", loader=load_collab_index).current.index
    assert isinstance(model, CollabIndex)
    assert model.user_vector("nobody-here") is None
    assert model.user_vector("x" * 64) is None  # longer than any stored id
    for g, name in enumerate(GROUP_COMMUNITIES):
        vec = model.user_vector(group_user(g, 0))
        assert vec is not None and vec.shape == (m.dim,)
        ids, scores = model.search(vec, 20)
        assert np.all(np.diff(scores[0]) <= 1e-6)  # best first
        in_group = np.isin(ids[0], built.group_posts[name]).mean()
        assert in_group >= 0.9, (name, in_group)


def test_cli_prints_a_json_summary_and_skips_a_thin_log(
    tmp_path: Path, small_posts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from feedmix import cli

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    args = ["--posts", str(small_posts), "--out", str(tmp_path / "idx"), "--kind", "auto"]
    rc = cli.main(["index", "build", *args, "--events", url, "--threads", "1"])
    out, err = capsys.readouterr()
    assert rc == 0
    summary = json.loads(out)
    assert summary["content"]["kind"] == "exact"  # auto on a small corpus
    assert "0 positive" in summary["collab"]["skipped"]
    assert "content index: published" in err and "collab index: skipped" in err
    assert not (tmp_path / "idx" / "collab" / "manifest.json").exists()


def test_collab_build_needs_enough_interactions(tmp_path: Path, built: Built) -> None:
    with pytest.raises(NotEnoughInteractions, match="need at least 100000"):
        build_collab_index(built.events_url, tmp_path, "exact", min_positive_pairs=100_000, progress=False)
    assert not list(tmp_path.iterdir())  # nothing published, no staging left behind

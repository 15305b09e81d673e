"""Text embeddings: unit float32 vectors, deterministic for a seed, and nearer for related titles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.text_embeddings import (
    TextEmbeddings,
    community_token,
    documents,
    make_pipeline,
    train_text_embeddings,
)


@pytest.fixture(scope="module")
def demo_embeddings(demo_corpus: RedditCorpus) -> TextEmbeddings:
    return train_text_embeddings(demo_corpus, dim=64, seed=0)


def test_vectors_are_unit_float32_one_per_post(
    demo_corpus: RedditCorpus, demo_embeddings: TextEmbeddings
) -> None:
    e = demo_embeddings
    assert e.vectors.shape == (len(demo_corpus), 64) and e.vectors.dtype == np.float32
    assert e.vectors.flags.c_contiguous
    np.testing.assert_array_equal(e.ids, demo_corpus.ids)
    np.testing.assert_allclose(np.linalg.norm(e.vectors, axis=1), 1.0, atol=1e-4)


def test_same_seed_same_vectors_other_seed_other_basis(small_corpus: RedditCorpus) -> None:
    a = train_text_embeddings(small_corpus, dim=16, seed=5)
    b = train_text_embeddings(small_corpus, dim=16, seed=5)
    np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-5)
    titles = ["my new graphics card", "a cat in a box"]
    assert a.model is not None and b.model is not None
    np.testing.assert_allclose(a.model.transform(titles), b.model.transform(titles), atol=1e-5)


def test_posts_of_one_community_are_nearer_than_posts_of_unrelated_ones(
    demo_corpus: RedditCorpus, demo_embeddings: TextEmbeddings
) -> None:
    v = demo_embeddings.vectors
    pc = v[demo_corpus.community_rows(demo_corpus.community_index["buildapc"])]
    aww = v[demo_corpus.community_rows(demo_corpus.community_index["aww"])]
    within = float((pc @ pc.T).mean())
    across = float((pc @ aww.T).mean())
    assert within > across + 0.1


def test_model_embeds_new_titles_so_hardware_questions_sit_together(demo_embeddings: TextEmbeddings) -> None:
    assert demo_embeddings.model is not None
    gpu_a, gpu_b, cat = demo_embeddings.model.transform(
        [
            "Which graphics card should I buy for my first gaming PC build?",
            "Need advice on a GPU and CPU for a new gaming build",
            "My kitten fell asleep on the dog",
        ],
        ["buildapc", "buildapc", "aww"],
    )
    assert float(gpu_a @ gpu_b) > float(gpu_a @ cat) + 0.2


def test_save_and_load_round_trip_with_and_without_the_pickled_model(
    tmp_path: Path, small_corpus: RedditCorpus
) -> None:
    e = train_text_embeddings(small_corpus, dim=8, seed=1)
    e.save(tmp_path)
    arrays_only = TextEmbeddings.load(tmp_path, with_model=False)
    assert arrays_only.model is None
    np.testing.assert_array_equal(arrays_only.vectors, e.vectors)
    full = TextEmbeddings.load(tmp_path)
    assert full.model is not None and e.model is not None
    np.testing.assert_allclose(full.model.transform(["hello world"]), e.model.transform(["hello world"]))


def test_documents_append_a_community_token() -> None:
    assert community_token("AskReddit") == "sub_askreddit"
    assert documents(["A title"], ["pics"]) == ["A title sub_pics"]
    with pytest.raises(ValueError):
        documents(["a", "b"], ["pics"])
    assert make_pipeline(dim=4).named_steps["svd"].n_components == 4

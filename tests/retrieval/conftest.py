"""Small, seeded data for the ANN tests: a clustered vector set with exact answers, and a corpus slice."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow.csv as pacsv
import pytest

from feedmix.bench.retrieval import clustered_vectors, exact_topk
from feedmix.corpus.reddit_corpus import RedditCorpus, demo_data_dir, resolve_posts_path
from feedmix.retrieval.ann import build_index
from feedmix.retrieval.ann.row_index import RowIndex

N, DIM, QUERIES, K = 6000, 32, 60, 50
KINDS = ("usearch_hnsw", "faiss_hnsw", "faiss_ivf", "faiss_ivf_fp16")
#: small-set params: enough search effort that recall is far from the thresholds the tests assert
SMALL_PARAMS: dict[str, dict[str, int]] = {
    "usearch_hnsw": {"M": 16, "ef_construction": 64, "ef_search": 128},
    "faiss_hnsw": {"M": 16, "ef_construction": 64, "ef_search": 128},
    "faiss_ivf": {"nlist": 64, "nprobe": 16},
    "faiss_ivf_fp16": {"nlist": 64, "nprobe": 16},
    "exact": {},
}


@dataclass(frozen=True)
class Clustered:
    ids: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32]
    queries: npt.NDArray[np.float32]
    #: exact top-K ids per query
    truth: npt.NDArray[np.int64]


@pytest.fixture(scope="session")
def clustered() -> Clustered:
    x, _ = clustered_vectors(N + QUERIES, DIM, clusters=48, spread=0.6, seed=3)
    base, queries = x[:N], np.ascontiguousarray(x[N:])
    ids = np.random.default_rng(3).permutation(10 * N)[:N].astype(np.int64) + 7  # ids are not rows
    rows, _ = exact_topk(base, queries, K)
    return Clustered(ids, base, queries, ids[rows])


@pytest.fixture(scope="session")
def built(clustered: Clustered) -> dict[str, RowIndex]:
    """One index of every kind over the clustered set (built once: HNSW builds dominate test time)."""
    return {
        kind: build_index(clustered.ids, clustered.vectors, kind, SMALL_PARAMS[kind], threads=2)
        for kind in (*KINDS, "exact")
    }


def corpus_slice(n: int) -> RedditCorpus:
    """The first ``n`` demo posts as a corpus (fast to embed and index)."""
    table = pacsv.read_csv(
        resolve_posts_path(demo_data_dir()), parse_options=pacsv.ParseOptions(newlines_in_values=True)
    )
    return RedditCorpus.from_table(table.slice(0, n), {})


@pytest.fixture(scope="session")
def small_corpus() -> RedditCorpus:
    return corpus_slice(3000)


@pytest.fixture(scope="session")
def demo_corpus() -> RedditCorpus:
    return RedditCorpus.load()


def recall(found: npt.NDArray[np.int64], truth: npt.NDArray[np.int64]) -> float:
    k = truth.shape[1]
    hits = sum(np.intersect1d(f[f >= 0], t).shape[0] for f, t in zip(found, truth, strict=True))
    return hits / (k * truth.shape[0])

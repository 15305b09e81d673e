"""``feedmix bench retrieval`` on tiny sizes: the report has every part, and its numbers are sane."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pytest

from feedmix.bench.retrieval import (
    DEFAULT_KINDS,
    clustered_vectors,
    exact_topk,
    main,
    recall_at_k,
    reddit_set,
    run_retrieval_bench,
)
from feedmix.corpus.reddit_corpus import RedditCorpus, demo_data_dir, resolve_posts_path


def test_exact_topk_in_chunks_equals_one_pass() -> None:
    x, _ = clustered_vectors(3000, 16, clusters=8, seed=1)
    q = x[:7] + 0.01
    one, s1 = exact_topk(x, q, 25)
    chunked, s2 = exact_topk(x, q, 25, chunk=700)
    np.testing.assert_array_equal(one, chunked)
    np.testing.assert_allclose(s1, s2, rtol=1e-6)
    assert recall_at_k(one, chunked, 25) == 1.0


def test_synthetic_vectors_are_seeded_unit_and_clustered() -> None:
    a, la = clustered_vectors(1000, 8, clusters=4, seed=2, chunk=300)
    b, lb = clustered_vectors(1000, 8, clusters=4, seed=2, chunk=300)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    same = a[la == la[0]] @ a[0]
    other = a[la != la[0]] @ a[0]
    assert same.mean() > other.mean()


@pytest.fixture(scope="module")
def report() -> dict[str, object]:
    return run_retrieval_bench(
        data_dir=None, synthetic_n=6000, subset_n=3000, queries=20, k=10, quick=True, progress=False
    )


def test_report_covers_every_kind_with_recall_latency_memory_and_filtering(report: dict[str, object]) -> None:
    sets = report["sets"]
    assert isinstance(sets, dict) and set(sets) == {"synthetic_3k", "synthetic_6k"}
    assert set(sets["synthetic_3k"]["kinds"]) == set(DEFAULT_KINDS)
    assert set(sets["synthetic_6k"]["kinds"]) == {"faiss_ivf_fp16"}
    for data in sets.values():
        assert data["exclusions"]["mean_excluded"] > 0
        for kind, r in data["kinds"].items():
            assert r["build_s"] >= 0 and r["memory"]["file_mib"] >= 0
            for point in r["sweep"]:
                stats = point["mixture_draws"]
                assert 0.0 <= stats["recall"] <= 1.0 and stats["p99_ms"] >= stats["p50_ms"] > 0
            assert r["chosen"]["mixture_draws"]["recall"] >= 0.5
            modes = {"overfetch", "native"} if kind.startswith("faiss") else {"overfetch"}
            assert set(r["filtered"]) == modes
            for f in r["filtered"].values():
                assert f["excluded_returned"] == 0 and f["recall"] >= 0.5
    h2h = sets["synthetic_3k"]["head_to_head"]
    assert set(h2h) == set(DEFAULT_KINDS)
    for kind, r in h2h.items():
        assert (
            r["mixture_draws"]["recall"]
            == sets["synthetic_3k"]["kinds"][kind]["chosen"]["mixture_draws"]["recall"]
        )
    assert "head_to_head" not in sets["synthetic_6k"]
    json.dumps(report)  # the CLI prints it


def test_reddit_set_holds_out_the_queries() -> None:
    table = pacsv.read_csv(
        resolve_posts_path(demo_data_dir()), parse_options=pacsv.ParseOptions(newlines_in_values=True)
    )
    corpus = RedditCorpus.from_table(table.slice(0, 2500), {})
    data = reddit_set(corpus, queries=30, dim=8, seed=0, limit=None)
    assert data.vectors.shape == (2470, 8) and set(data.queries) == {"held_out_titles", "user_means"}
    assert data.queries["user_means"].shape == (30, 8)
    np.testing.assert_allclose(np.linalg.norm(data.queries["user_means"], axis=1), 1.0, atol=1e-5)


def test_main_prints_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    args = ["--data", "none", "--synthetic", "2500", "--subset", "0", "--queries", "5", "--k", "5"]
    assert main([*args, "--kinds", "faiss_ivf", "--quick", "--no-progress", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert set(printed["sets"]) == {"synthetic_2500"}

"""Recall and NDCG against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from feedmix.eval.metrics import hits, ndcg_at_k, recall, recall_at_k
from feedmix.eval.retrieval_eval import evaluate_lists, list_overlap, markdown_table


def rel(rows: list[list[int]], n_items: int = 10) -> sp.csr_matrix:
    r = [i for i, items in enumerate(rows) for _ in items]
    c = [j for items in rows for j in items]
    return sp.csr_matrix((np.ones(len(c)), (r, c)), shape=(len(rows), n_items))


def test_hits_ignore_padding() -> None:
    lists = np.array([[3, -1, 1], [0, 2, -1]])
    assert hits(lists, rel([[1, 3], [9]])).tolist() == [[True, False, True], [False, False, False]]


def test_recall_exact_values() -> None:
    lists = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [0, 9, -1, -1]])
    relevant = rel([[2, 4, 9], [1], []])
    got = recall_at_k(lists, relevant, 4)
    assert got[0] == pytest.approx(2 / 3)  # 2 of 3 found, 3 < k
    assert got[1] == 0.0
    assert math.isnan(got[2])  # nothing relevant: excluded from means
    # capped denominator: 6 relevant, list of 4 holding 2 of them -> 2 / min(4, 6)
    assert recall_at_k(np.array([[0, 1, 2, 3]]), rel([[0, 2, 5, 6, 7, 8]]), 4)[0] == pytest.approx(0.5)
    # an explicit per-user budget (the full union's own size)
    assert recall(np.array([[0, 1, 2, -1]]), rel([[0, 5, 6, 7]]), budget=np.array([3]))[0] == pytest.approx(
        1 / 3
    )


def test_ndcg_exact_values() -> None:
    relevant = rel([[2, 4]])
    # hits at ranks 2 and 4: (1/log2 3 + 1/log2 5) / (1 + 1/log2 3)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(np.array([[1, 2, 3, 4]]), relevant, 10)[0] == pytest.approx(expected)
    assert ndcg_at_k(np.array([[2, 4, 1, 3]]), relevant, 10)[0] == pytest.approx(1.0)
    # only the first k positions count
    assert ndcg_at_k(np.array([[1, 3, 2, 4]]), relevant, 2)[0] == 0.0
    # ideal DCG uses min(k, relevant) hits: 3 relevant, k = 2, hit at rank 1 only
    assert ndcg_at_k(np.array([[5, 0]]), rel([[5, 6, 7]]), 2)[0] == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_rows_table_and_overlap() -> None:
    relevant = rel([[1], [2]])
    lists = {"a": np.array([[1, 0], [3, 2]]), "b": np.array([[0, -1], [0, -1]])}
    rows = evaluate_lists(lists, relevant, k_recall=2, k_ndcg=2, labels={"a": "source A"})
    a, b = rows
    assert a.recall == 1.0 and a.ndcg == pytest.approx((1 + 1 / math.log2(3)) / 2)
    assert b.recall == 0.0 and b.mean_list_size == 1.0 and b.coverage == 1
    assert list_overlap(np.array([[1, 2, -1]]), np.array([[2, 1, 5]])) == pytest.approx(2 / 3)
    table = markdown_table(
        {"k_recall": 2, "k_ndcg": 2, "protocols": [{"name": "p", "rows": [r.to_json() for r in rows]}]}
    )
    assert table.splitlines()[0] == "| source | Recall@2 (p) | NDCG@2 (p) | mean list size | distinct items |"
    assert "| source A | 1.0000 |" in table

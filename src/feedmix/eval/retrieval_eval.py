"""Scoring candidate lists and printing the comparison: rows of metrics and one markdown table.

A row is one source (or union) under one protocol: Recall@50, NDCG@10, the mean number of
candidates it returned and how many distinct items it proposed across all users (a source that
proposes the same 50 items to everyone, like global popularity, has coverage 50 however good its
recall is, which matters for a feed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from feedmix.eval.metrics import ndcg_at_k, recall
from feedmix.retrieval.embeddings.topk import NO_ITEM

ListArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SourceRow:
    source: str
    label: str
    recall: float
    ndcg: float
    mean_list_size: float
    coverage: int
    users: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_lists(
    lists: Mapping[str, ListArray],
    relevant: sp.csr_matrix,
    *,
    k_recall: int = 50,
    k_ndcg: int = 10,
    labels: Mapping[str, str] | None = None,
    budgets: Mapping[str, npt.NDArray[np.int64]] | None = None,
) -> list[SourceRow]:
    """One row per list, metrics averaged over users with at least one relevant item.

    ``budgets[name]`` replaces ``k_recall`` as the recall budget of that list (per user): the full
    union's budget is its own size. Lists without a budget are cut to ``k_recall`` first.
    """
    rows: list[SourceRow] = []
    has_rel = np.diff(relevant.tocsr().indptr) > 0
    for name, full in lists.items():
        budget = None if budgets is None else budgets.get(name)
        cut = full if budget is not None else full[:, :k_recall]
        r = recall(cut, relevant, budget=budget if budget is not None else k_recall)
        n = ndcg_at_k(cut, relevant, k_ndcg)
        valid = cut != NO_ITEM
        rows.append(
            SourceRow(
                source=name,
                label=(labels or {}).get(name, name),
                recall=float(np.mean(r[has_rel])),
                ndcg=float(np.mean(n[has_rel])),
                mean_list_size=float(valid.sum(axis=1).mean()),
                coverage=int(np.unique(cut[valid]).size),
                users=int(has_rel.sum()),
            )
        )
    return rows


def list_overlap(approx: ListArray, exact: ListArray) -> float:
    """Mean share of each exact list that the approximate list also holds (ANN recall@k)."""
    n_items = int(max(approx.max(initial=0), exact.max(initial=0))) + 1
    rows = np.arange(exact.shape[0], dtype=np.int64)[:, None]
    exact_keys = np.where(exact >= 0, rows * n_items + exact, -1)
    approx_keys = np.where(approx >= 0, rows * n_items + approx, -2)
    shared = np.isin(exact_keys, approx_keys).sum(axis=1)
    size = (exact >= 0).sum(axis=1)
    return float(np.mean(shared[size > 0] / size[size > 0]))


def _fmt(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def markdown_table(result: Mapping[str, Any]) -> str:
    """The result of an evaluation run as one markdown table: a column pair per protocol.

    Rows are sources in the order of the first protocol; size and distinct items come from the
    first protocol too (they differ little between protocols).
    """
    protocols: Sequence[Mapping[str, Any]] = result["protocols"]
    k_recall, k_ndcg = result["k_recall"], result["k_ndcg"]
    head = ["source"]
    for p in protocols:
        head += [f"Recall@{k_recall} ({p['name']})", f"NDCG@{k_ndcg} ({p['name']})"]
    head += ["mean list size", "distinct items"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by_protocol = [{row["source"]: row for row in p["rows"]} for p in protocols]
    for row in protocols[0]["rows"]:
        cells = [row["label"]]
        for rows in by_protocol:
            other = rows.get(row["source"])
            cells += [_fmt(other["recall"]), _fmt(other["ndcg"])] if other else ["", ""]
        cells += [f"{row['mean_list_size']:.1f}", str(row["coverage"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

"""The figures ``feedmix signals eval`` prints: per-label precision, recall and F1, macro-F1, accuracy,
expected calibration error, confusion matrices, and entity F1 on product mentions. Plain numpy, so the
numbers mean exactly what this file says."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt


def per_label(
    gold: npt.ArrayLike, pred: npt.ArrayLike, labels: Sequence[str]
) -> dict[str, dict[str, float | int]]:
    """Precision, recall, F1 and support per label (indices into ``labels``); 0 where undefined."""
    g, p = np.asarray(gold), np.asarray(pred)
    out: dict[str, dict[str, float | int]] = {}
    for k, name in enumerate(labels):
        tp = int(np.sum((g == k) & (p == k)))
        fp = int(np.sum((g != k) & (p == k)))
        fn = int(np.sum((g == k) & (p != k)))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[name] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    return out


def macro_f1(table: dict[str, dict[str, float | int]]) -> float:
    """Mean F1 over the labels present in the gold set (a label nobody used cannot be scored)."""
    scored = [row["f1"] for row in table.values() if row["support"] > 0]
    return float(np.mean(scored)) if scored else 0.0


def accuracy(gold: npt.ArrayLike, pred: npt.ArrayLike) -> float:
    g, p = np.asarray(gold), np.asarray(pred)
    return float(np.mean(g == p)) if len(g) else 0.0


def binary_f1(gold: npt.ArrayLike, pred: npt.ArrayLike) -> dict[str, float]:
    g, p = np.asarray(gold, dtype=bool), np.asarray(pred, dtype=bool)
    row = per_label(g.astype(int), p.astype(int), ["false", "true"])["true"]
    return {k: float(v) for k, v in row.items()}


def ece(confidence: npt.ArrayLike, correct: npt.ArrayLike, bins: int = 10) -> float:
    """Expected calibration error: the support-weighted gap between confidence and accuracy over equal-width
    confidence bins (Guo et al. 2017). 0 is perfectly calibrated."""
    c = np.asarray(confidence, dtype=np.float64)
    ok = np.asarray(correct, dtype=np.float64)
    if len(c) == 0:
        return 0.0
    which = np.minimum((c * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            total += m.sum() / len(c) * abs(ok[m].mean() - c[m].mean())
    return float(total)


def confusion(gold: npt.ArrayLike, pred: npt.ArrayLike, n_labels: int) -> list[list[int]]:
    """Rows gold, columns predicted."""
    m = np.zeros((n_labels, n_labels), dtype=np.int64)
    np.add.at(m, (np.asarray(gold, dtype=np.int64), np.asarray(pred, dtype=np.int64)), 1)
    return m.tolist()


def _norm(name: str) -> str:
    return " ".join(name.lower().split())


def entity_f1(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Micro precision/recall/F1 of product mentions per post: exact match of the name (case and spacing
    ignored), and a lenient match where one name contains the other ("HD600" vs "Sennheiser HD600")."""
    tp = fp = fn = 0
    lenient_tp_p = lenient_tp_g = 0
    n_pred = n_gold = 0
    for g_names, p_names in zip(gold, pred, strict=True):
        g = {_norm(x) for x in g_names}
        p = {_norm(x) for x in p_names}
        n_pred += len(p)
        n_gold += len(g)
        hit = g & p
        tp += len(hit)
        fp += len(p - hit)
        fn += len(g - hit)
        lenient_tp_p += sum(any(a in b or b in a for b in g) for a in p)
        lenient_tp_g += sum(any(a in b or b in a for b in p) for a in g)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    lp = lenient_tp_p / n_pred if n_pred else 0.0
    lr = lenient_tp_g / n_gold if n_gold else 0.0
    lf = 2 * lp * lr / (lp + lr) if lp + lr else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "lenient_f1": lf,
        "gold_mentions": n_gold,
        "predicted_mentions": n_pred,
    }


def cohen_kappa(a: npt.ArrayLike, b: npt.ArrayLike, n_labels: int) -> float:
    """Agreement beyond chance of two raters on the same items (1 perfect, 0 chance)."""
    x, y = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if len(x) == 0:
        return 0.0
    po = float(np.mean(x == y))
    px = np.bincount(x, minlength=n_labels) / len(x)
    py = np.bincount(y, minlength=n_labels) / len(y)
    pe = float(np.sum(px * py))
    return 1.0 if pe >= 1.0 else (po - pe) / (1 - pe)

"""One producer's signals scored against the dev set's gold labels: what ``feedmix signals eval`` prints,
per signal, on the high-confidence items and on all of them.

Category is scored on the posts the gold calls commercial (elsewhere the codebook's answer is null and is
scored by the commercial F1 already); brand safety on its three tiers; products by entity F1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.signals import metrics
from feedmix.signals.codebook import BRAND_SAFETY, CATEGORIES, INTENTS, SENTIMENTS
from feedmix.signals.devset import DevSet
from feedmix.signals.post_signals import PostSignals

#: the issue's aims on the high-confidence test part
AIMS = {
    "intent_macro_f1": 0.70,
    "commercial_f1": 0.85,
    "sentiment_accuracy": 0.75,
    "entity_f1": 0.60,
}


def _multi(
    gold: npt.NDArray[np.int64], probs: npt.NDArray[np.float32], labels: tuple[str, ...]
) -> dict[str, Any]:
    pred = np.argmax(probs, axis=1)
    table = metrics.per_label(gold, pred, labels)
    return {
        "n": len(gold),
        "accuracy": metrics.accuracy(gold, pred),
        "macro_f1": metrics.macro_f1(table),
        "ece": metrics.ece(probs.max(axis=1) if len(probs) else probs, pred == gold),
        "per_label": table,
        "confusion": metrics.confusion(gold, pred, len(labels)),
        "labels": list(labels),
    }


def score(signals: PostSignals, dev: DevSet, mask: npt.NDArray[np.bool_]) -> dict[str, Any]:
    """Every signal's figures on the posts ``mask`` selects (``signals`` is aligned with ``dev``)."""
    if signals.ids != dev.posts.ids:
        raise ValueError("signals and dev set are not aligned post for post")
    rows = np.flatnonzero(mask)
    commercial_pred = signals.commercial[rows]
    commercial_gold = dev.commercial[rows]
    commercial = metrics.binary_f1(commercial_gold, commercial_pred)
    p_comm = signals.commercial_prob[rows]
    commercial["ece"] = metrics.ece(np.maximum(p_comm, 1 - p_comm), commercial_pred == commercial_gold)
    commercial["n"] = len(rows)
    cat_rows = rows[dev.commercial[rows]]
    products_pred = [[signals.product_text[j] for j in range(*_span(signals, int(i)))] for i in rows]
    report: dict[str, Any] = {
        "n": len(rows),
        "intent": _multi(dev.intent[rows], signals.intent_probs[rows], INTENTS),
        "sentiment": _multi(dev.sentiment[rows], signals.sentiment_probs[rows], SENTIMENTS),
        "commercial": commercial,
        "category": _multi(dev.category[cat_rows], signals.category_probs[cat_rows], CATEGORIES),
        "brand_safety": _multi(dev.safety[rows], signals.safety_probs[rows], BRAND_SAFETY),
        "products": metrics.entity_f1([dev.products[i] for i in rows], products_pred),
    }
    report["kappa"] = {
        "intent": metrics.cohen_kappa(dev.intent[rows], signals.intent[rows], len(INTENTS)),
        "sentiment": metrics.cohen_kappa(dev.sentiment[rows], signals.sentiment[rows], len(SENTIMENTS)),
        "commercial": metrics.cohen_kappa(commercial_gold.astype(int), commercial_pred.astype(int), 2),
        "brand_safety": metrics.cohen_kappa(dev.safety[rows], signals.brand_safety[rows], len(BRAND_SAFETY)),
    }
    report["headline"] = {
        "intent_macro_f1": report["intent"]["macro_f1"],
        "commercial_f1": commercial["f1"],
        "sentiment_accuracy": report["sentiment"]["accuracy"],
        "entity_f1": report["products"]["f1"],
        "category_accuracy": report["category"]["accuracy"],
        "brand_safety_macro_f1": report["brand_safety"]["macro_f1"],
        "intent_ece": report["intent"]["ece"],
    }
    return report


def _span(signals: PostSignals, i: int) -> tuple[int, int]:
    return int(signals.product_offsets[i]), int(signals.product_offsets[i + 1])


def meets_aims(headline: dict[str, float]) -> dict[str, dict[str, float | bool]]:
    return {k: {"aim": aim, "value": headline[k], "met": headline[k] >= aim} for k, aim in AIMS.items()}

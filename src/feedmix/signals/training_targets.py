"""The heads every trained tier has, and the two ways their targets arise: from labels a person or a
judge wrote (the teacher's training), and from another model's signals (the student's distillation).

Brand safety is learned as its reason (``none`` or one of the eleven), and the tier is the sum of its
reasons' probabilities, so a model can never say ``unsafe`` with a sensitive reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.signals.codebook import (
    CATEGORIES,
    INTENTS,
    REASONS,
    SENSITIVE_REASONS,
    SENTIMENTS,
    UNSAFE_REASONS,
)
from feedmix.signals.post_signals import F32, PostSignals

REASON_CLASSES: tuple[str, ...] = ("none", *REASONS)
HEADS: dict[str, tuple[str, ...]] = {
    "intent": INTENTS,
    "sentiment": SENTIMENTS,
    "commercial": ("false", "true"),
    "category": CATEGORIES,
    "reason": REASON_CLASSES,
}
_UNSAFE = [REASON_CLASSES.index(r) for r in UNSAFE_REASONS]
_SENSITIVE = [REASON_CLASSES.index(r) for r in SENSITIVE_REASONS]

Targets = dict[str, tuple[npt.NDArray[np.int64], list[str], npt.NDArray[np.bool_] | None]]


def targets_from_labels(labels: Sequence[dict[str, Any]]) -> Targets:
    commercial = np.array([bool(x["commercial"]) for x in labels])
    reason = [x["brand_safety_reason"] or "none" for x in labels]
    return {
        "intent": (np.array([INTENTS.index(x["intent"]) for x in labels]), list(INTENTS), None),
        "sentiment": (np.array([SENTIMENTS.index(x["sentiment"]) for x in labels]), list(SENTIMENTS), None),
        "commercial": (commercial.astype(np.int64), ["false", "true"], None),
        "category": (
            np.array([CATEGORIES.index(x["category"]) if x["category"] else 0 for x in labels]),
            list(CATEGORIES),
            commercial,
        ),
        "reason": (np.array([REASON_CLASSES.index(r) for r in reason]), list(REASON_CLASSES), None),
    }


def targets_from_signals(sig: PostSignals, keep: npt.NDArray[np.bool_] | None = None) -> Targets:
    """A teacher's decisions as the student's targets (rows the gate answered are left out by ``keep``)."""
    reason = np.array([REASON_CLASSES.index(r or "none") for r in sig.safety_reason])
    commercial = sig.commercial
    return {
        "intent": (sig.intent, list(INTENTS), keep),
        "sentiment": (sig.sentiment, list(SENTIMENTS), keep),
        "commercial": (commercial.astype(np.int64), ["false", "true"], keep),
        "category": (
            np.argmax(sig.category_probs, axis=1),
            list(CATEGORIES),
            commercial if keep is None else commercial & keep,
        ),
        "reason": (reason, list(REASON_CLASSES), keep),
    }


def probs_from_heads(pred: dict[str, F32]) -> tuple[dict[str, F32], list[str | None]]:
    """Head outputs in ``PostSignals``' layout, with each post's brand-safety reason (``None``: safe)."""
    reason = pred["reason"]
    safety = np.stack(
        [reason[:, 0], reason[:, _SENSITIVE].sum(axis=1), reason[:, _UNSAFE].sum(axis=1)], axis=1
    ).astype(np.float32)
    tier = np.argmax(safety, axis=1)
    reasons: list[str | None] = []
    for i, t in enumerate(tier):
        if t == 0:
            reasons.append(None)
        else:
            pool = _SENSITIVE if t == 1 else _UNSAFE
            reasons.append(REASON_CLASSES[pool[int(np.argmax(reason[i, pool]))]])
    probs = {
        "intent_probs": pred["intent"],
        "sentiment_probs": pred["sentiment"],
        "commercial_prob": pred["commercial"][:, 1].copy(),
        "category_probs": pred["category"],
        "safety_probs": safety,
    }
    return probs, reasons

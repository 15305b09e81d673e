"""Signal values as the ``post_signals`` online features (``features/signal_definitions.py``): what ads
targeting, the brand-safety check and the ranker read at serving time, written by the backfill and the
streaming labeller for the production tier."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feedmix.features.signal_definitions import ENTITY, brand_key
from feedmix.signals.codebook import INTENTS
from feedmix.signals.post_signals import PostSignals

_REVIEW = INTENTS.index("review")
_REQUEST = INTENTS.index("recommendation_request")


def feature_columns(sig: PostSignals) -> dict[str, npt.NDArray[np.generic]]:
    """The online columns of a batch; a post the gate or a failed model answered keeps ``-1``/NaN."""
    judged = np.array([g not in ("error",) for g in sig.gate])
    intent = np.where(judged, sig.intent, -1)
    first = sig.product_offsets[:-1]
    has = sig.product_counts > 0
    brands = np.zeros(len(sig), dtype=np.int64)
    for i in np.flatnonzero(has):
        j = int(first[i])
        name = sig.product_brand[j] or sig.product_text[j]
        brands[i] = brand_key(name)
    nan = np.float32(np.nan)
    return {
        "intent": intent.astype(np.int64),
        "intent_conf": np.where(judged, sig.intent_probs.max(axis=1), nan).astype(np.float32),
        "p_review": np.where(judged, sig.intent_probs[:, _REVIEW], nan).astype(np.float32),
        "p_recommendation_request": np.where(judged, sig.intent_probs[:, _REQUEST], nan).astype(np.float32),
        "sentiment": np.where(judged, sig.sentiment, -1).astype(np.int64),
        "commercial_prob": np.where(judged, sig.commercial_prob, nan).astype(np.float32),
        "category": np.where(judged, sig.category, -1).astype(np.int64),
        "brand_safety": np.where(judged, sig.brand_safety, -1).astype(np.int64),
        "product_count": sig.product_counts.astype(np.int64),
        "brand_key": brands,
        "model_key": np.full(len(sig), brand_key(sig.model_version), dtype=np.int64),
    }


def rows_to_write(sig: PostSignals) -> npt.NDArray[np.bool_]:
    """Rows whose model failed are not written: the previous version's values stay in place."""
    return np.array([g != "error" for g in sig.gate], dtype=bool)


__all__ = ["ENTITY", "feature_columns", "rows_to_write"]

"""Every signal of a batch of posts, as columns: probability matrices in the codebook's label order, and
product mentions as flat arrays with per-post offsets (no per-post objects on the labelling path).

The decision rules that turn probabilities into labels live here, once, so every tier and every consumer
reads a post the same way: the intent is the most probable class, a post is commercial at probability
0.5 or more, its category is the most probable one only when it is commercial, and the stance toward a
named product is the sentiment toward the post's subject when a product is named.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.signals.codebook import BRAND_SAFETY, CATEGORIES, INTENTS, SENTIMENTS, STANCES

F32 = npt.NDArray[np.float32]
_STANCE_OF = dict(zip(SENTIMENTS, STANCES, strict=True))  # positive->favor, negative->against


def _empty_i32() -> npt.NDArray[np.int32]:
    return np.zeros(0, dtype=np.int32)


@dataclass
class PostSignals:
    ids: list[str]
    intent_probs: F32  # (n, len(INTENTS))
    sentiment_probs: F32  # (n, len(SENTIMENTS))
    commercial_prob: F32  # (n,)
    category_probs: F32  # (n, len(CATEGORIES))
    safety_probs: F32  # (n, len(BRAND_SAFETY))
    safety_reason: list[str | None]
    gate: list[str]
    model_version: str
    #: product mentions: post i owns entries product_offsets[i]:product_offsets[i+1]
    product_offsets: npt.NDArray[np.int32] = field(default_factory=_empty_i32)
    product_start: npt.NDArray[np.int32] = field(default_factory=_empty_i32)
    product_end: npt.NDArray[np.int32] = field(default_factory=_empty_i32)
    product_text: list[str] = field(default_factory=list)
    product_brand: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.ids)
        if len(self.product_offsets) == 0:
            self.product_offsets = np.zeros(n + 1, dtype=np.int32)
        shapes = {
            "intent_probs": (self.intent_probs.shape, (n, len(INTENTS))),
            "sentiment_probs": (self.sentiment_probs.shape, (n, len(SENTIMENTS))),
            "commercial_prob": (self.commercial_prob.shape, (n,)),
            "category_probs": (self.category_probs.shape, (n, len(CATEGORIES))),
            "safety_probs": (self.safety_probs.shape, (n, len(BRAND_SAFETY))),
            "product_offsets": (self.product_offsets.shape, (n + 1,)),
        }
        for name, (got, want) in shapes.items():
            if got != want:
                raise ValueError(f"PostSignals.{name}: shape {got}, expected {want}")
        m = int(self.product_offsets[-1])
        if not (len(self.product_start) == len(self.product_end) == len(self.product_text) == m):
            raise ValueError("PostSignals: product columns differ from product_offsets")
        if len(self.product_brand) != m:
            raise ValueError("PostSignals: product_brand differs from product_offsets")

    def __len__(self) -> int:
        return len(self.ids)

    # -- decisions -------------------------------------------------------------------------------

    @property
    def intent(self) -> npt.NDArray[np.int64]:
        return _argmax(self.intent_probs)

    @property
    def sentiment(self) -> npt.NDArray[np.int64]:
        return _argmax(self.sentiment_probs)

    @property
    def commercial(self) -> npt.NDArray[np.bool_]:
        return self.commercial_prob >= 0.5

    @property
    def category(self) -> npt.NDArray[np.int64]:
        """The category index, -1 where the post is not commercial (the codebook's null)."""
        return np.where(self.commercial, np.argmax(self.category_probs, axis=1), -1).astype(np.int64)

    @property
    def brand_safety(self) -> npt.NDArray[np.int64]:
        return _argmax(self.safety_probs)

    @property
    def product_counts(self) -> npt.NDArray[np.int32]:
        return np.diff(self.product_offsets).astype(np.int32)

    def products_of(self, i: int) -> list[dict[str, Any]]:
        a, b = int(self.product_offsets[i]), int(self.product_offsets[i + 1])
        return [
            {
                "text": self.product_text[j],
                "start": int(self.product_start[j]),
                "end": int(self.product_end[j]),
                "brand": self.product_brand[j],
            }
            for j in range(a, b)
        ]

    def confidence(self) -> F32:
        """How sure the intent is: the top class's probability (the figure calibration is measured on)."""
        return np.asarray(self.intent_probs.max(axis=1), dtype=np.float32)

    # -- output ----------------------------------------------------------------------------------

    def records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per post: what ``feedmix signals label`` writes."""
        intent, sentiment, category, safety = self.intent, self.sentiment, self.category, self.brand_safety
        counts = self.product_counts
        out = []
        for i, pid in enumerate(self.ids):
            cat = int(category[i])
            senti = SENTIMENTS[int(sentiment[i])]
            out.append(
                {
                    "id": pid,
                    "intent": INTENTS[int(intent[i])],
                    "intent_probs": _probs(INTENTS, self.intent_probs[i]),
                    "sentiment": senti,
                    "sentiment_probs": _probs(SENTIMENTS, self.sentiment_probs[i]),
                    "stance": _STANCE_OF[senti] if counts[i] else None,
                    "commercial": bool(self.commercial_prob[i] >= 0.5),
                    "commercial_prob": round(float(self.commercial_prob[i]), 4),
                    "products": self.products_of(i),
                    "category": CATEGORIES[cat] if cat >= 0 else None,
                    "category_prob": round(float(self.category_probs[i, cat]), 4) if cat >= 0 else None,
                    "brand_safety": BRAND_SAFETY[int(safety[i])],
                    "brand_safety_reason": self.safety_reason[i],
                    "brand_safety_probs": _probs(BRAND_SAFETY, self.safety_probs[i]),
                    "gate": self.gate[i],
                    "model_version": self.model_version,
                }
            )
        return out


def _argmax(m: F32) -> npt.NDArray[np.int64]:
    out: npt.NDArray[np.int64] = np.argmax(m, axis=1).astype(np.int64)
    return out


def _probs(labels: tuple[str, ...], row: F32) -> dict[str, float]:
    return {label: round(float(p), 4) for label, p in zip(labels, row, strict=True)}


def abstention(n: int) -> dict[str, F32]:
    """The probabilities of a post no model should judge: ``none``, neutral, not commercial, safe-leaning
    but unsure; low confidence everywhere, so it neither targets ads nor blocks them confidently."""
    intent = np.full((n, len(INTENTS)), 0.06, dtype=np.float32)
    intent[:, INTENTS.index("none")] = 0.7
    senti = np.tile(np.array([0.2, 0.2, 0.6], dtype=np.float32), (n, 1))
    cats = np.full((n, len(CATEGORIES)), 1 / len(CATEGORIES), dtype=np.float32)
    safety = np.tile(np.array([0.5, 0.3, 0.2], dtype=np.float32), (n, 1))
    return {
        "intent_probs": intent,
        "sentiment_probs": senti,
        "commercial_prob": np.full(n, 0.1, dtype=np.float32),
        "category_probs": cats,
        "safety_probs": safety,
    }


class ProductMentions:
    """Mentions gathered post by post (in order), flattened into the columns ``PostSignals`` keeps."""

    def __init__(self, n: int) -> None:
        self.offsets = np.zeros(n + 1, dtype=np.int32)
        self.start: list[int] = []
        self.end: list[int] = []
        self.text: list[str] = []
        self.brand: list[str | None] = []

    def add(self, i: int, mentions: Iterable[tuple[int, int, str, str | None]]) -> None:
        """Post ``i``'s mentions as (start, end, text, brand); call once per post, in post order."""
        for start, end, text, brand in mentions:
            self.start.append(start)
            self.end.append(end)
            self.text.append(text)
            self.brand.append(brand)
        self.offsets[i + 1 :] = len(self.text)


def assemble(
    ids: list[str],
    probs: dict[str, F32],
    reasons: list[str | None],
    gate: list[str],
    model_version: str,
    products: ProductMentions,
) -> PostSignals:
    """A labeller's columns as one ``PostSignals`` (``probs`` as ``abstention`` lays them out)."""
    return PostSignals(
        ids=list(ids),
        intent_probs=probs["intent_probs"],
        sentiment_probs=probs["sentiment_probs"],
        commercial_prob=probs["commercial_prob"],
        category_probs=probs["category_probs"],
        safety_probs=probs["safety_probs"],
        safety_reason=reasons,
        gate=gate,
        model_version=model_version,
        product_offsets=products.offsets,
        product_start=np.array(products.start, dtype=np.int32),
        product_end=np.array(products.end, dtype=np.int32),
        product_text=products.text,
        product_brand=products.brand,
    )

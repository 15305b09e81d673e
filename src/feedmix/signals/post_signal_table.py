"""The corpus' signals as columns aligned with its rows, for the serving path: the ads mixer reads a
page's intents, categories, products and brand-safety tiers by row with one gather, no store round trip
and no per-post objects except the (short) product lists of the page's posts.

Rows without values (not labelled yet, or the model failed) read as unrated: intent and category -1,
brand safety -1, no products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from feedmix.signals.codebook import BRAND_SAFETY, CATEGORIES, INTENTS
from feedmix.signals.post_signals import PostSignals


@dataclass
class PostSignalTable:
    intent: npt.NDArray[np.int8]
    category: npt.NDArray[np.int8]
    safety: npt.NDArray[np.int8]
    sentiment: npt.NDArray[np.int8]
    #: lower-cased brand and product names of each row (empty tuple: none)
    products: list[tuple[str, ...]]
    model_version: str
    labelled: int

    def __len__(self) -> int:
        return len(self.intent)

    @classmethod
    def empty(cls, n: int) -> PostSignalTable:
        minus = np.full(n, -1, dtype=np.int8)
        return cls(minus, minus.copy(), minus.copy(), minus.copy(), [()] * n, "", 0)

    @classmethod
    def from_signals(cls, sig: PostSignals, corpus_ids: Sequence[str]) -> PostSignalTable:
        """Values of ``sig`` placed at the rows of ``corpus_ids`` that have them."""
        table = cls.empty(len(corpus_ids))
        row_of = {pid: r for r, pid in enumerate(corpus_ids)}
        rows = np.array([row_of.get(pid, -1) for pid in sig.ids], dtype=np.int64)
        ok = (rows >= 0) & np.array([g != "error" for g in sig.gate], dtype=bool)
        target, source = rows[ok], np.flatnonzero(ok)
        table.intent[target] = sig.intent[source]
        table.category[target] = sig.category[source]
        table.safety[target] = sig.brand_safety[source]
        table.sentiment[target] = sig.sentiment[source]
        for i, r in zip(source.tolist(), target.tolist(), strict=True):
            names = {p["text"].lower() for p in sig.products_of(i)}
            names |= {p["brand"].lower() for p in sig.products_of(i) if p["brand"]}
            if names:
                table.products[r] = tuple(sorted(names))
        table.model_version = sig.model_version
        table.labelled = int(ok.sum())
        return table

    def intents_of(self, rows: npt.NDArray[np.int64]) -> tuple[str, ...]:
        return tuple(INTENTS[k] for k in dict.fromkeys(self.intent[rows].tolist()) if k >= 0)

    def categories_of(self, rows: npt.NDArray[np.int64]) -> tuple[str, ...]:
        return tuple(CATEGORIES[k] for k in dict.fromkeys(self.category[rows].tolist()) if k >= 0)

    def products_of(self, rows: npt.NDArray[np.int64]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for r in rows.tolist() for name in self.products[r]))

    def safety_of(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int8]:
        """Per row: 0 safe, 1 sensitive, 2 unsafe, -1 unrated (``BRAND_SAFETY`` order)."""
        return self.safety[rows]


assert BRAND_SAFETY == ("safe", "sensitive", "unsafe")

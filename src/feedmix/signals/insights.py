"""What a community talks about, over time: its posts' intent mix, category mix and most mentioned
products per period, from the corpus' signals (one pass of numpy over the community's rows; the product
counts are the only per-post Python work, over that community alone)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.signals.codebook import CATEGORIES, INTENTS
from feedmix.signals.post_signal_table import PostSignalTable

PERIODS = {"week": 7 * 86_400, "month": 30 * 86_400, "year": 365 * 86_400}


def community_insights(
    table: PostSignalTable,
    rows: npt.NDArray[np.int64],
    created: npt.NDArray[np.float64],
    period: str = "month",
    top: int = 10,
) -> dict[str, Any]:
    """Per period (newest first): posts, labelled posts, intent and category counts, top products."""
    if period not in PERIODS:
        raise ValueError(f"period {period!r} is not one of {sorted(PERIODS)}")
    width = PERIODS[period]
    rows = rows[table.intent[rows] >= 0]
    buckets = (created[rows] // width).astype(np.int64)
    out = []
    for b in sorted(set(buckets.tolist()), reverse=True):
        r = rows[buckets == b]
        intents = np.bincount(table.intent[r].astype(np.int64), minlength=len(INTENTS))
        cats = table.category[r]
        cats = np.bincount(cats[cats >= 0].astype(np.int64), minlength=len(CATEGORIES))
        products = Counter(name for i in r.tolist() for name in table.products[i])
        out.append(
            {
                "start": time.strftime("%Y-%m-%d", time.gmtime(b * width)),
                "posts": len(r),
                "intents": {INTENTS[k]: int(v) for k, v in enumerate(intents) if v},
                "categories": {CATEGORIES[k]: int(v) for k, v in enumerate(cats) if v},
                "top_products": [{"name": n, "posts": c} for n, c in products.most_common(top)],
            }
        )
    return {
        "period": period,
        "labelled_posts": len(rows),
        "model_version": table.model_version,
        "periods": out,
    }

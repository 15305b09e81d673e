"""A second opinion on real commercial text: the Women's Clothing E-Commerce Reviews (CC0, in
../shared/data) carry a 1-5 rating and a "recommends it" flag written by the reviewers themselves.
Every one of them is a review of an apparel product, so a tier should call them ``review``, commercial,
Apparel & Accessories, with sentiment following the rating (4-5 positive, 1-2 negative, 3 neutral or
mixed). Not the codebook's data (no community, no Reddit register), so the figures are a sanity check
beside the dev set, not a replacement for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.csv as pacsv

from feedmix.signals import metrics
from feedmix.signals.codebook import CATEGORIES, INTENTS, SENTIMENTS
from feedmix.signals.labeler import Labeler
from feedmix.signals.posts import Posts

REVIEWS = Path("womens-clothing-reviews") / "reviews.csv.gz"


def load_reviews(data_dir: Path, n: int = 2000, seed: int = 0) -> tuple[Posts, np.ndarray, np.ndarray]:
    """``n`` reviews with text (seeded sample): posts, ratings, recommended flags."""
    table = pacsv.read_csv(data_dir / REVIEWS, parse_options=pacsv.ParseOptions(newlines_in_values=True))
    text = [t or "" for t in table["Review Text"].to_pylist()]
    keep = np.flatnonzero([bool(t.strip()) for t in text])
    rows = np.sort(np.random.default_rng(seed).choice(keep, size=min(n, len(keep)), replace=False))
    titles = table["Title"].to_pylist()
    posts = Posts(
        [f"review{r}" for r in rows],
        [""] * len(rows),
        [titles[r] or "" for r in rows.tolist()],
        [text[r] for r in rows.tolist()],
        np.zeros(len(rows), dtype=bool),
    )
    rating = np.asarray(table["Rating"].to_numpy(zero_copy_only=False))[rows]
    recommended = np.asarray(table["Recommended IND"].to_numpy(zero_copy_only=False))[rows].astype(bool)
    return posts, rating, recommended


def score_proxy(
    labeler: Labeler, posts: Posts, rating: np.ndarray, recommended: np.ndarray
) -> dict[str, Any]:
    sig = labeler.label(posts)
    gold = np.where(rating >= 4, 0, np.where(rating <= 2, 1, 2))  # SENTIMENTS order
    pred = sig.sentiment
    polar = rating != 3
    return {
        "reviews": len(posts),
        "sentiment_accuracy": round(metrics.accuracy(gold, pred), 3),
        "sentiment_macro_f1": round(metrics.macro_f1(metrics.per_label(gold, pred, SENTIMENTS)), 3),
        "polarity_accuracy_1_2_vs_4_5": round(metrics.accuracy(gold[polar], pred[polar]), 3),
        "recommended_agreement": round(float(np.mean((pred == 0) == recommended)), 3),
        "review_recall": round(float(np.mean(sig.intent == INTENTS.index("review"))), 3),
        "commercial_recall": round(float(np.mean(sig.commercial)), 3),
        "apparel_share": round(float(np.mean(sig.category == CATEGORIES.index("Apparel & Accessories"))), 3),
    }

"""The content signals as online features of the ``post_signals`` entity (keyed by post id).

Their own entity, because a post's engagement record expires a week after its last event while what the
post is about stays true as long as the post exists; a record of its own can live ``SIGNAL_TTL_S``.

Classes are stored as their index in the codebook's order (``-1``: not labelled yet), probabilities as
float32 (NaN: not labelled), the post's main brand as a stable 63-bit hash of its normalised name (0:
none), so ads can target a brand without strings in the record, and the producing model version as a
hash too, so a reader can tell which model wrote the values it serves.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from feedmix.features.registry import Dtype, FeatureDefinition, FeatureRegistry

OWNER = "content-signals"
ENTITY = "post_signals"
SIGNAL_TTL_S = 400 * 86400.0
_NAN = float("nan")

_DEFS: tuple[tuple[str, Dtype, float | int, str], ...] = (
    ("intent", "int64", -1, "intent class (codebook order: review, recommendation_request, ...)"),
    ("intent_conf", "float32", _NAN, "probability of the intent class"),
    ("p_review", "float32", _NAN, "probability the post is a review"),
    ("p_recommendation_request", "float32", _NAN, "probability the post asks what to buy"),
    ("sentiment", "int64", -1, "sentiment toward the main subject (positive, negative, neutral)"),
    ("commercial_prob", "float32", _NAN, "probability a product, brand, store or service is a subject"),
    ("category", "int64", -1, "product category index (codebook order), -1 when not commercial"),
    ("brand_safety", "int64", -1, "brand-safety tier (0 safe, 1 sensitive, 2 unsafe), -1 unknown"),
    ("product_count", "int64", 0, "product mentions found in the post"),
    ("brand_key", "int64", 0, "hash of the post's first mentioned brand (brand_key()), 0 for none"),
    ("model_key", "int64", 0, "hash of the model version that wrote these values"),
)


def signal_definitions() -> list[FeatureDefinition]:
    return [
        FeatureDefinition("post_signals", n, d, default, SIGNAL_TTL_S, OWNER, what)
        for n, d, default, what in _DEFS
    ]


@lru_cache(maxsize=1)
def signal_registry() -> FeatureRegistry:
    return FeatureRegistry(signal_definitions())


def brand_key(name: str) -> int:
    """A stable positive 63-bit key for a brand or model name (case and spacing ignored)."""
    norm = " ".join(name.lower().split())
    return int.from_bytes(hashlib.blake2b(norm.encode(), digest_size=8).digest(), "big") >> 1 or 1

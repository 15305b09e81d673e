"""The label sets, in the order every probability column uses, and the digest of the codebook they come
from: a signal version records the digest so a changed definition is a changed signal, never a silent one."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

INTENTS: tuple[str, ...] = (
    "review",
    "recommendation_request",
    "recommendation",
    "comparison",
    "question",
    "none",
)
SENTIMENTS: tuple[str, ...] = ("positive", "negative", "neutral")
#: stance toward the named product or brand that is the post's target (null when none is named)
STANCES: tuple[str, ...] = ("favor", "against", "neutral")
CATEGORIES: tuple[str, ...] = (
    "Electronics",
    "Computers",
    "Phones & Tablets",
    "Video Games & Software",
    "Apparel & Accessories",
    "Health & Beauty",
    "Home & Garden",
    "Tools & Hardware",
    "Food & Beverage",
    "Sporting Goods & Outdoors",
    "Vehicles & Parts",
    "Toys & Board Games",
    "Musical Instruments",
    "Media (books, movies, music)",
    "Finance & Services",
    "Other",
)
BRAND_SAFETY: tuple[str, ...] = ("safe", "sensitive", "unsafe")
UNSAFE_REASONS: tuple[str, ...] = ("nsfw", "violence", "tragedy", "hate", "drugs")
SENSITIVE_REASONS: tuple[str, ...] = (
    "weapons",
    "alcohol_tobacco",
    "profanity",
    "politics",
    "crime",
    "health",
)
REASONS: tuple[str, ...] = UNSAFE_REASONS + SENSITIVE_REASONS
#: the intents that are about buying or using something: a post with one of these is usually commercial
COMMERCIAL_INTENTS = frozenset({"review", "recommendation_request", "recommendation", "comparison"})

CODEBOOK_PATH = Path(__file__).with_name("CODEBOOK.md")
ADDITIONS_PATH = Path(__file__).with_name("CODEBOOK_ADDITIONS.md")


@cache
def codebook_digest() -> str:
    """sha256 of the codebook and our additions (brand safety, stance), first 16 hex digits."""
    h = hashlib.sha256(CODEBOOK_PATH.read_bytes())
    h.update(ADDITIONS_PATH.read_bytes())
    return h.hexdigest()[:16]


def reason_tier(reason: str | None) -> str:
    """The brand-safety tier a reason implies (``None``: safe)."""
    if reason is None:
        return "safe"
    if reason in UNSAFE_REASONS:
        return "unsafe"
    if reason in SENSITIVE_REASONS:
        return "sensitive"
    raise ValueError(f"brand_safety_reason {reason!r} is not one of {REASONS}")

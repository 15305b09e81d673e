"""The contract every labelling tier keeps, as one function a new tier's tests call: a mixed batch of
ordinary and hostile posts (empty, emoji, other languages, markup, over 40k characters) goes in, and
aligned, well-formed signals come out, with no exception."""

from __future__ import annotations

from typing import Any

import numpy as np

from feedmix.signals.gate import STATUSES
from feedmix.signals.labeler import Labeler
from feedmix.signals.posts import MAX_CHARS, Posts

HOSTILE_POSTS: list[dict[str, Any]] = [
    {"id": "ok", "subreddit": "headphones", "title": "My thoughts on the Sennheiser HD600 after a month"},
    {
        "id": "ask",
        "subreddit": "SuggestALaptop",
        "title": "What laptop for college?",
        "selftext": "Budget $800",
    },
    {"id": "empty", "subreddit": "pics", "title": "", "selftext": ""},
    {"id": "emoji", "subreddit": "funny", "title": "😂😂🔥"},
    {"id": "ru", "subreddit": "worldnews", "title": "Это мой новый телефон, что вы думаете о нём"},
    {"id": "md", "subreddit": "apple", "title": "**[iPhone 5s](http://apple.com)** <b>is</b> &amp; out"},
    {"id": "huge", "subreddit": "buildapc", "title": "Build log", "selftext": "GTX 770 and i5. " * 4000},
    {"id": "nsfw", "subreddit": "pics", "title": "Beach", "over_18": True},
]


def check_labeler(labeler: Labeler) -> None:
    """Raise AssertionError naming what a labeller got wrong."""
    posts = Posts.from_records(HOSTILE_POSTS)
    assert len(posts.text(6)) > MAX_CHARS
    sig = labeler.label(posts)
    assert sig.ids == posts.ids, "signals must keep the posts' order"
    assert labeler.version and sig.model_version == labeler.version, "every value names its model version"
    for name in ("intent_probs", "sentiment_probs", "category_probs", "safety_probs"):
        m = getattr(sig, name)
        assert np.isfinite(m).all() and (m >= 0).all(), f"{name} must be finite and non-negative"
        np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-4, err_msg=f"{name} rows must sum to 1")
    assert ((sig.commercial_prob >= 0) & (sig.commercial_prob <= 1)).all()
    assert set(sig.gate) <= set(STATUSES)
    assert sig.gate[2] == "empty" and sig.gate[3] == "emoji_only" and sig.gate[4] == "non_english"
    for i in range(len(posts)):
        text = posts.text(i)
        for p in sig.products_of(i):
            assert text[p["start"] : p["end"]] == p["text"], (
                f"post {posts.ids[i]}: span does not index the text"
            )
    assert sig.records()[7]["brand_safety"] == "unsafe", "a post flagged over_18 is unsafe"
    empty = labeler.label(posts.take([]))
    assert len(empty) == 0 and empty.records() == []

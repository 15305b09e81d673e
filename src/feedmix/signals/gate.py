"""The input gate: what a model may read of a post, and which posts get a defined answer instead.

Reddit text arrives as markdown, sometimes HTML, sometimes nothing but emoji or another language. Models
trained on English prose say confident nonsense on those, so the gate decides first: markup is reduced to
its words (a link keeps its text, a tag disappears), a post over ``MAX_CHARS`` is cut, and an empty,
emoji-only or non-English post is answered by the abstention (intent ``none``, neutral, not commercial,
low confidence) without reaching a model. The statuses are counted, so a flood of one shows up.
"""

from __future__ import annotations

import re
import unicodedata

from feedmix.signals.posts import MAX_CHARS

#: ``error``: the model failed on the post (the previous version's values stay in place where stored)
STATUSES: tuple[str, ...] = ("ok", "too_long", "empty", "emoji_only", "non_english", "error")
#: statuses whose post is answered by the abstention rather than a model
ABSTAIN = frozenset({"empty", "emoji_only", "non_english"})

_TAG = re.compile(r"<[^>\n]{1,200}>")
_MD_LINK = re.compile(r"\[([^\]\n]{0,300})\]\([^)\s]{0,2000}\)")
_URL = re.compile(r"https?://\S+")
_MD_MARKS = re.compile(r"(^|\s)[#>*_~`|-]{1,6}(?=\S)|[*_~`]{1,3}(?=\s|$)|^\s*[-*+]\s+", re.M)
_ENTITY = re.compile(r"&(amp|lt|gt|quot|nbsp|#x?[0-9a-fA-F]{1,6});")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "nbsp": " "}
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
#: the commonest English function words: prose in English is about 40% these, other languages near 0
_STOPWORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "this",
        "that",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "my",
        "your",
        "his",
        "her",
        "our",
        "their",
        "me",
        "him",
        "them",
        "not",
        "no",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "at",
        "by",
        "from",
        "as",
        "so",
        "if",
        "what",
        "how",
        "why",
        "when",
        "who",
        "which",
        "can",
        "will",
        "would",
        "should",
        "could",
        "just",
        "about",
        "up",
        "out",
        "all",
        "any",
        "some",
        "than",
        "then",
        "there",
        "here",
    ]
)


def clean(text: str) -> str:
    """Markdown and HTML reduced to their words, keeping character positions where nothing was removed.

    Spans are reported on the original text, so cleaning is only used to decide the gate and to feed
    models that need prose; entity matching runs on the original.
    """
    text = _ENTITY.sub(lambda m: _ENTITIES.get(m.group(1), " "), text)
    text = _TAG.sub(" ", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub(" ", text)
    return _MD_MARKS.sub(" ", text)


def status(text: str) -> str:
    """The gate's verdict on one post's text (title + selftext)."""
    if len(text) > MAX_CHARS:
        return "too_long"
    stripped = clean(text).strip()
    if not stripped:
        return "empty"
    letters = [c for c in stripped if c.isalpha()]
    if not letters:
        has_symbol = any(unicodedata.category(c) in ("So", "Sk") for c in stripped)
        return "emoji_only" if has_symbol else "empty" if not any(c.isdigit() for c in stripped) else "ok"
    latin = sum(1 for c in letters if c < "\u0250")
    if latin < 0.5 * len(letters):
        return "non_english"
    words = [w.lower() for w in _WORD.findall(stripped)]
    if len(words) >= 12 and sum(w in _STOPWORDS for w in words) < 0.08 * len(words):
        return "non_english"
    return "ok"


def model_text(text: str) -> str:
    """The text a model reads: cut to ``MAX_CHARS``."""
    return text[:MAX_CHARS]

"""The labelled dev set (``labelled/``): posts and their gold labels as columns, split into the tuning part
(rules, thresholds and prompts are chosen on it) and the test part (figures are reported on it only)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.signals.codebook import BRAND_SAFETY, CATEGORIES, INTENTS, SENTIMENTS
from feedmix.signals.label_schema import check_label
from feedmix.signals.posts import Posts

LABELLED_DIR = Path(__file__).parent / "labelled"
POSTS_FILE = "dev_posts.jsonl"
LABELS_FILE = "dev_labels.jsonl"
SPLITS = ("tuning", "test", "all")


@dataclass
class DevSet:
    posts: Posts
    split: list[str]
    intent: npt.NDArray[np.int64]
    sentiment: npt.NDArray[np.int64]
    commercial: npt.NDArray[np.bool_]
    category: npt.NDArray[np.int64]  # -1: null (not commercial)
    safety: npt.NDArray[np.int64]
    reason: list[str | None]
    products: list[list[str]]
    high: npt.NDArray[np.bool_]
    digest: str

    def __len__(self) -> int:
        return len(self.split)

    def mask(self, split: str, confidence: str = "all") -> npt.NDArray[np.bool_]:
        if split not in SPLITS:
            raise ValueError(f"split {split!r} is not one of {SPLITS}")
        m = np.ones(len(self), dtype=bool) if split == "all" else np.array([s == split for s in self.split])
        return m & self.high if confidence == "high" else m

    @classmethod
    def load(cls, folder: Path = LABELLED_DIR) -> DevSet:
        posts_path, labels_path = folder / POSTS_FILE, folder / LABELS_FILE
        raw_posts = [json.loads(line) for line in posts_path.read_text().splitlines() if line.strip()]
        raw_labels = {
            rec["id"]: rec
            for rec in (json.loads(x) for x in labels_path.read_text().splitlines() if x.strip())
        }
        missing = [p["id"] for p in raw_posts if p["id"] not in raw_labels]
        if missing:
            raise ValueError(f"{labels_path}: no label for posts {missing[:5]} ({len(missing)} in all)")
        labels = [_check(raw_labels[p["id"]], p) for p in raw_posts]
        h = hashlib.sha256(posts_path.read_bytes())
        h.update(labels_path.read_bytes())
        return cls(
            posts=Posts.from_records(raw_posts, where=f"{posts_path} record"),
            split=[p["split"] for p in raw_posts],
            intent=np.array([INTENTS.index(r["intent"]) for r in labels]),
            sentiment=np.array([SENTIMENTS.index(r["sentiment"]) for r in labels]),
            commercial=np.array([bool(r["commercial"]) for r in labels]),
            category=np.array([CATEGORIES.index(r["category"]) if r["category"] else -1 for r in labels]),
            safety=np.array([BRAND_SAFETY.index(r["brand_safety"]) for r in labels]),
            reason=[r["brand_safety_reason"] for r in labels],
            products=[list(r["products"]) for r in labels],
            high=np.array([r["confidence"] == "high" for r in labels]),
            digest=h.hexdigest()[:16],
        )


def _check(label: dict[str, Any], post: dict[str, Any]) -> dict[str, Any]:
    """A gold label that breaks the codebook is a broken file, not a data point: say which and why."""
    return check_label(label, f"{post['title']}\n\n{post['selftext']}", post["id"])

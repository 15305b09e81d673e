"""Post content embeddings trained from the data: TF-IDF over titles → truncated SVD → unit vectors.

Why this model: the corpus has titles and communities but no engagement log to learn from, and the ANN
index needs dense vectors whose inner product means "about the same thing". Latent semantic analysis
gives exactly that from the text alone, trains on all 428,667 titles in well under a minute on two
cores, is deterministic for a seed, and embeds a new title with the same fitted pipeline (so a fresh
post can be indexed, or a user profile built from posts, without retraining).

Each document is the title plus one synthetic token naming the community (``sub_buildapc``). Titles are
short (about ten words), so that token carries real weight: two posts of one community land nearer
each other than their words alone would put them, which is what "more like this" should mean here.

Vectors are L2-normalised float32, so inner product is cosine and every index in
:mod:`feedmix.retrieval.ann` uses the inner-product metric.

Persistence: ``ids`` and ``vectors`` go to an ``.npz`` (plain arrays, safe to load from anywhere); the
fitted sklearn pipeline goes to a ``joblib`` pickle. **Loading a pickle executes code from the file**:
only load model files this deployment wrote itself (the index build writes them beside the index it
serves). ``TextEmbeddings.load(path, with_model=False)`` reads the arrays without touching the pickle.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer

from feedmix.corpus.reddit_corpus import RedditCorpus

VECTORS_FILE = "text_embeddings.npz"
MODEL_FILE = "text_model.joblib"

_NON_WORD = re.compile(r"[^a-z0-9_]+")


def community_token(name: str) -> str:
    """The token that stands for a community inside a document (``AskReddit`` → ``sub_askreddit``)."""
    return "sub_" + _NON_WORD.sub("_", name.lower()).strip("_")


def documents(titles: Sequence[str], communities: Sequence[str] | None = None) -> list[str]:
    """Title plus community token, the text the model is trained on and applied to."""
    if communities is None:
        return list(titles)
    if len(communities) != len(titles):
        raise ValueError(f"{len(titles)} titles but {len(communities)} communities")
    return [f"{t} {community_token(c)}" for t, c in zip(titles, communities, strict=True)]


class TextEmbeddingModel:
    """The fitted TF-IDF → SVD → normalise pipeline; embeds new titles into the trained space."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    @property
    def dim(self) -> int:
        svd = self.pipeline.named_steps["svd"]
        return int(svd.n_components)

    def transform(
        self, titles: Sequence[str], communities: Sequence[str] | None = None
    ) -> npt.NDArray[np.float32]:
        """Unit-length float32 vectors ``[len(titles), dim]`` (all zeros for text with no known word)."""
        out = self.pipeline.transform(documents(titles, communities))
        return np.ascontiguousarray(out, dtype=np.float32)


@dataclass(frozen=True)
class TextEmbeddings:
    """One vector per post: ``vectors[i]`` embeds the post with id ``ids[i]``."""

    ids: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32]
    model: TextEmbeddingModel | None

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.vectors.shape[0] != self.ids.shape[0]:
            raise ValueError(f"vectors {self.vectors.shape} do not match {self.ids.shape[0]} ids")

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write ``text_embeddings.npz`` and (when there is a model) ``text_model.joblib``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        _atomic_write(d / VECTORS_FILE, lambda p: np.savez(p, ids=self.ids, vectors=self.vectors))
        if self.model is not None:
            model = self.model
            _atomic_write(d / MODEL_FILE, lambda p: joblib.dump(model.pipeline, p))

    @classmethod
    def load(cls, directory: str | os.PathLike[str], with_model: bool = True) -> TextEmbeddings:
        """Read what :meth:`save` wrote. ``with_model`` unpickles the model: trusted files only."""
        d = Path(directory)
        with np.load(d / VECTORS_FILE) as z:
            ids = np.asarray(z["ids"], dtype=np.int64)
            vectors = np.ascontiguousarray(z["vectors"], dtype=np.float32)
        model = None
        if with_model:
            pipeline: Any = joblib.load(d / MODEL_FILE)
            if not isinstance(pipeline, Pipeline):
                raise ValueError(f"{d / MODEL_FILE} holds a {type(pipeline).__name__}, not a Pipeline")
            model = TextEmbeddingModel(pipeline)
        return cls(ids=ids, vectors=vectors, model=model)


def make_pipeline(dim: int = 64, seed: int = 0) -> Pipeline:
    """The untrained pipeline. ``min_df=2`` drops hapaxes (typos, ids) that only add noise and width."""
    return Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    stop_words="english",
                    sublinear_tf=True,
                    min_df=2,
                    max_df=0.5,
                    dtype=np.float32,
                    token_pattern=r"(?u)\b\w\w+\b",
                ),
            ),
            ("svd", TruncatedSVD(n_components=dim, algorithm="randomized", n_iter=5, random_state=seed)),
            ("norm", Normalizer(copy=False)),
        ]
    )


def train_text_embeddings(corpus: RedditCorpus, dim: int = 64, seed: int = 0) -> TextEmbeddings:
    """Fit the model on every post of ``corpus`` and embed them all (about 20 s for 428k posts)."""
    if dim < 1:
        raise ValueError("dim must be positive")
    communities = [corpus.communities[c] for c in corpus.community]
    pipeline = make_pipeline(dim=dim, seed=seed)
    vectors = pipeline.fit_transform(documents(corpus.titles, communities))
    return TextEmbeddings(
        ids=np.asarray(corpus.ids, dtype=np.int64).copy(),
        vectors=np.ascontiguousarray(vectors, dtype=np.float32),
        model=TextEmbeddingModel(pipeline),
    )


def _atomic_write(path: Path, write: Any) -> None:
    """Write through a temporary name and ``os.replace`` so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()

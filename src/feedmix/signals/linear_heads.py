"""Softmax heads over one shared feature matrix: every signal's logits come out of one matrix product
(features x all heads' weights), then each head's slice is normalised. The teacher (dense sentence
embeddings) and the student (sparse hashed n-grams) both label through this, so their inference is one
multiplication per batch, not one per signal or per post.

Heads are trained with scikit-learn (logistic regression on the teacher's few thousand labels, SGD on the
student's hundreds of thousands) and saved as plain arrays (``.npz``): no pickle is loaded at serve time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

F32 = npt.NDArray[np.float32]


@dataclass
class LinearHeads:
    names: list[str]
    #: head name -> its class labels, in the order of its logits
    classes: dict[str, list[str]]
    weights: F32  # (n_features, total classes)
    bias: F32  # (total classes,)

    def __post_init__(self) -> None:
        total = sum(len(self.classes[h]) for h in self.names)
        if self.weights.shape[1] != total or self.bias.shape != (total,):
            raise ValueError(
                f"heads: weights {self.weights.shape} / bias {self.bias.shape} for {total} classes"
            )

    @property
    def n_features(self) -> int:
        return int(self.weights.shape[0])

    def predict(self, x: F32 | sp.spmatrix) -> dict[str, F32]:
        """Probabilities per head, rows aligned with ``x``."""
        logits = np.asarray(x @ self.weights, dtype=np.float32) + self.bias
        out: dict[str, F32] = {}
        at = 0
        for h in self.names:
            k = len(self.classes[h])
            z = logits[:, at : at + k]
            z = np.exp(z - z.max(axis=1, keepdims=True))
            out[h] = (z / z.sum(axis=1, keepdims=True)).astype(np.float32)
            at += k
        return out

    def save(self, path: Path, weight_dtype: type[np.floating[Any]] = np.float32) -> None:
        """``weight_dtype=np.float16`` halves the file (a packaged model); loading casts back to float32."""
        np.savez_compressed(
            path,
            names=np.array(self.names),
            classes=np.array([f"{h}\t" + "\t".join(self.classes[h]) for h in self.names]),
            weights=self.weights.astype(weight_dtype),
            bias=self.bias,
        )

    @classmethod
    def load(cls, path: Path) -> LinearHeads:
        with np.load(path, allow_pickle=False) as z:
            names = [str(n) for n in z["names"]]
            classes = {}
            for row in z["classes"]:
                head, *labels = str(row).split("\t")
                classes[head] = labels
            return cls(names, classes, z["weights"].astype(np.float32), z["bias"].astype(np.float32))


def fit_heads(
    x: F32 | sp.spmatrix,
    targets: dict[str, tuple[npt.NDArray[np.int64], list[str], npt.NDArray[np.bool_] | None]],
    estimator: str = "logistic",
    c: float | dict[str, float] = 1.0,
    balanced: bool | set[str] = True,
    sample_weight: npt.NDArray[np.float64] | None = None,
    seed: int = 0,
) -> LinearHeads:
    """Fit one multinomial head per target: ``{name: (class index per row, class labels, row mask)}``.

    A class the rows never show keeps a large negative bias, so it is never predicted rather than
    breaking the fit. ``c`` (inverse regularisation for logistic, ``alpha`` for SGD) and ``balanced``
    (classes weighted inversely to their frequency) may differ per head: a head scored by macro-F1
    (intent, where a rare comparison counts as much as ``none``) wants balance, one scored by accuracy
    (sentiment) does not.
    """
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    names: list[str] = []
    classes: dict[str, list[str]] = {}
    w_blocks: list[F32] = []
    b_blocks: list[F32] = []
    for name, (y, labels, mask) in targets.items():
        rows = np.flatnonzero(mask) if mask is not None else np.arange(len(y))
        present = np.unique(y[rows])
        k = len(labels)
        w = np.zeros((x.shape[1], k), dtype=np.float32)
        b = np.full(k, -20.0, dtype=np.float32)
        sw = sample_weight[rows] if sample_weight is not None else None
        if len(present) == 1:
            b[present[0]] = 0.0
        else:
            model: Any
            head_c = c[name] if isinstance(c, dict) else c
            weighting = (
                "balanced" if (balanced is True or (isinstance(balanced, set) and name in balanced)) else None
            )
            if estimator == "logistic":
                model = LogisticRegression(C=head_c, max_iter=3000, class_weight=weighting)
            else:
                model = SGDClassifier(
                    loss="log_loss",
                    alpha=head_c,
                    max_iter=8,
                    tol=None,
                    class_weight=weighting,
                    random_state=seed,
                )
            model.fit(x[rows], y[rows], sample_weight=sw)
            coef = np.asarray(model.coef_, dtype=np.float32)
            inter = np.asarray(model.intercept_, dtype=np.float32)
            if len(present) == 2:  # binary models keep one row: class 1 against class 0
                coef = np.vstack([-coef / 2, coef / 2])
                inter = np.array([-inter[0] / 2, inter[0] / 2], dtype=np.float32)
            for j, cls in enumerate(model.classes_):
                w[:, int(cls)] = coef[j]
                b[int(cls)] = inter[j]
        names.append(name)
        classes[name] = list(labels)
        w_blocks.append(w)
        b_blocks.append(b)
    return LinearHeads(names, classes, np.hstack(w_blocks), np.concatenate(b_blocks))

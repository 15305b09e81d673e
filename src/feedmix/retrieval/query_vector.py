"""A user's query vector, tied to the index build whose space it lives in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from feedmix.retrieval.ann.protocol import AnnIndex


@dataclass(frozen=True)
class QueryVector:
    """A user's query vector and the index build (version) whose space it lives in."""

    vector: npt.NDArray[np.float32]
    index: AnnIndex
    version: str

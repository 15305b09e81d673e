"""Fixtures of the MovieLens evaluations: a tiny synthetic copy and the real data (required in CI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from feedmix.corpus.reddit_corpus import default_data_dir
from feedmix.retrieval.embeddings.interactions import MOVIELENS_DIR
from tests.conftest import IN_CI


@pytest.fixture
def tiny_movielens(tmp_path: Path) -> Path:
    """30 users rating 40 films over 300 days; taste: user u likes films of genre u % 2."""
    rng = np.random.default_rng(1)
    lines = ["userId,movieId,rating,timestamp"]
    for u in range(1, 31):
        start = rng.integers(0, 200) * 86_400
        films = rng.choice(40, size=rng.integers(8, 20), replace=False)
        for j, m in enumerate(films.tolist()):
            rating = 5.0 if m % 2 == u % 2 else 2.0
            lines.append(f"{u},{m + 1},{rating},{start + j * 3_600 + (j // 4) * 86_400}")
    root: Path = tmp_path / "data" / MOVIELENS_DIR
    root.mkdir(parents=True)
    (root / "ratings.csv").write_text("\n".join(lines) + "\n")
    movies = ["movieId,title,genres"] + [
        f'{m + 1},"Film {m}, The (2001)",{"Drama" if m % 2 else "Comedy|Romance"}' for m in range(40)
    ]
    movies.append('41,"Unrated",(no genres listed)')
    (root / "movies.csv").write_text("\n".join(movies) + "\n")
    return root


@pytest.fixture(scope="module")
def movielens_root() -> Path:
    root: Path = default_data_dir() / MOVIELENS_DIR
    if not (root / "ratings.csv").is_file():
        msg = f"MovieLens data not found at {root} (set FEEDMIX_DATA_DIR)"
        if IN_CI:
            pytest.fail(msg + "; CI requires it")
        pytest.skip(msg)
    return root

"""MovieLens ml-latest-small in the evaluation's index space: ratings, positives and genres.

Users and movies get dense rows (``IdMap``s over every rated user and every movie in ``movies.csv``)
so that every source's candidate lists and the held-out relevance matrix share one item space.
Positives follow ``movielens_interactions``: a rating of 4 or more.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow.csv as pacsv
import scipy.sparse as sp

from feedmix.eval.splits import split_latest_per_user
from feedmix.retrieval.embeddings.interactions import (
    IdMap,
    Interactions,
    movielens_dir,
    movielens_interactions,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
RowArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class MovieLensData:
    interactions: Interactions
    users: IdMap
    items: IdMap
    user_rows: RowArray
    item_rows: RowArray
    positive: BoolArray
    ts: FloatArray
    item_genres: sp.csr_matrix
    genres: list[str]
    #: per rating: the star rating (0.5-5); ``positive`` is ``rating >= 4``. The retrieval sources
    #: read only ``positive``; the ranker's mean-rating features read this
    rating: FloatArray


def load_movielens(data_dir: str | Path) -> MovieLensData:
    """Ratings (as ``movielens_interactions``) and a movie × genre indicator matrix."""
    folder = movielens_dir(data_dir)
    log = movielens_interactions(folder)
    # the same file in the same row order as ``log``, for the star ratings ``log`` binarised
    stars = pacsv.read_csv(
        folder / "ratings.csv", convert_options=pacsv.ConvertOptions(include_columns=["rating"])
    )
    movies = pacsv.read_csv(folder / "movies.csv")
    movie_ids = movies["movieId"].to_numpy().astype(np.int64)
    items = IdMap.from_keys(np.concatenate([movie_ids, log.item_keys]))
    users = IdMap.from_keys(log.user_keys)
    per_movie = [g.split("|") for g in movies["genres"].to_pylist()]
    genres = sorted({g for gs in per_movie for g in gs} - {"(no genres listed)"})
    genre_col = {g: i for i, g in enumerate(genres)}
    pairs = [
        (row, genre_col[g])
        for row, gs in zip(items.rows_of(movie_ids).tolist(), per_movie, strict=True)
        for g in gs
        if g in genre_col
    ]
    r, c = np.array(pairs, dtype=np.int64).T
    item_genres = sp.csr_matrix((np.ones(r.size, dtype=np.float32), (r, c)), shape=(len(items), len(genres)))
    return MovieLensData(
        interactions=log,
        users=users,
        items=items,
        user_rows=users.rows_of(log.user_keys),
        item_rows=items.rows_of(log.item_keys),
        positive=log.weights > 0,
        ts=log.ts,
        item_genres=item_genres,
        genres=genres,
        rating=stars["rating"].to_numpy().astype(np.float64),
    )


def validation_data(data: MovieLensData, test_fraction: float = 0.2) -> MovieLensData:
    """``data`` without its test split: evaluating on this tunes parameters without seeing the test.

    The validation split is then the latest ``test_fraction`` of what remains per user.
    """
    split = split_latest_per_user(data.user_rows, data.ts, len(data.users), test_fraction=test_fraction)
    keep = ~split.test
    return MovieLensData(
        interactions=data.interactions.select(keep),
        users=data.users,
        items=data.items,
        user_rows=data.user_rows[keep],
        item_rows=data.item_rows[keep],
        positive=data.positive[keep],
        ts=data.ts[keep],
        item_genres=data.item_genres,
        genres=data.genres,
        rating=data.rating[keep],
    )

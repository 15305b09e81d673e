"""The non-learned sources: popularity, the trending window's edges, genre affinity."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from feedmix.eval.baselines import genre_affinity_scores, popularity_scores, recent_popularity_scores


def test_popularity_marks_unliked_items_ineligible() -> None:
    assert popularity_scores(np.array([0, 0, 2]), 4).tolist() == [2.0, -np.inf, 1.0, -np.inf]


def test_recent_window_is_half_open_and_per_request() -> None:
    items = np.array([0, 1, 1, 2])
    ts = np.array([10.0, 20.0, 25.0, 30.0])
    pop = popularity_scores(items, 4)
    scores = recent_popularity_scores(items, ts, np.array([30.0, 31.0]), window_s=10.0, popularity=pop)
    # request at 30: window [20, 30) holds item 1 twice; item 2 at 30 is the request's own second
    assert np.floor(scores[0]).tolist() == [0.0, 2.0, 0.0, -np.inf]
    assert np.floor(scores[1]).tolist() == [0.0, 1.0, 1.0, -np.inf]  # [21, 31)
    # ties broken by overall popularity (item 1 has 2 positives, items 0 and 2 one each)
    assert scores[0, 0] == scores[0, 2] and np.argmax(scores[1]) == 1


def test_genre_affinity_prefers_the_users_genres() -> None:
    genres = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float32))
    liked = sp.csr_matrix(np.array([[1, 0, 0, 0]], dtype=np.float32))  # likes a genre-0 film
    pop = np.array([1.0, 5.0, 9.0, 1.0])
    scores = genre_affinity_scores(liked, genres, pop)[0]
    assert scores[1] > scores[0] > scores[3] > scores[2]  # same genre set: the more popular first

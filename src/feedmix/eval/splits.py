"""Temporal train/test splits that cannot put a user's future into their training history.

``split_latest_per_user`` holds out each user's latest ``test_fraction`` of interactions (at least
one). The cut is a *time* per user, not a count: everything at or after the user's cut time is test,
everything strictly before is train. MovieLens users often rate many films in the same second, and a
count-based cut would split such a tie group, putting some same-second ratings in train and others in
test; cutting by time moves the whole group to test, so every training interaction of a user is
strictly earlier than every test interaction of that user (a property test checks it).

The per-user cut alone does not stop a model from learning from *other* users' later interactions;
the evaluation protocols in ``feedmix.eval.movielens`` decide what each snapshot may know.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class TemporalSplit:
    #: per interaction: True for test
    test: npt.NDArray[np.bool_]
    #: per user row: test is ``ts >= cut_ts[user]``; +inf for a user with no interactions
    cut_ts: npt.NDArray[np.float64]

    def train_users(self, user_rows: npt.NDArray[np.int64], n_users: int) -> npt.NDArray[np.bool_]:
        """Users with at least one training interaction (a user whose history is one tie group has none)."""
        return np.bincount(user_rows[~self.test], minlength=n_users) > 0


def split_latest_per_user(
    user_rows: npt.NDArray[np.int64],
    ts: npt.NDArray[np.float64],
    n_users: int,
    *,
    test_fraction: float = 0.2,
) -> TemporalSplit:
    """Per user, the latest ``max(1, round(test_fraction · n))`` interactions, widened to whole ties."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    user_rows = np.asarray(user_rows, dtype=np.int64)
    ts = np.asarray(ts, dtype=np.float64)
    counts = np.bincount(user_rows, minlength=n_users)
    n_test = np.where(counts > 0, np.maximum(1, np.floor(test_fraction * counts + 0.5)), 0).astype(np.int64)
    order = np.lexsort((ts, user_rows))  # by user, then time
    starts = np.cumsum(counts) - counts
    has = counts > 0
    cut_ts = np.full(n_users, np.inf)
    cut_ts[has] = ts[order][(starts + counts - n_test)[has]]
    return TemporalSplit(test=ts >= cut_ts[user_rows], cut_ts=cut_ts)

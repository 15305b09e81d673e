"""Rank of each item inside its group in the current order: the kernel of caps and diversity penalties."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def rank_within_group(groups: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """For each position, how many earlier positions share its group."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_groups[1:] != sorted_groups[:-1]]))
    run_start = np.repeat(starts, np.diff(np.concatenate([starts, [len(groups)]])))
    ranks = np.empty(len(groups), dtype=np.int64)
    ranks[order] = np.arange(len(groups)) - run_start
    return ranks

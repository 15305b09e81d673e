"""Sliding-window event counts per slot, as a ring of time buckets.

Time is cut into buckets of ``bucket_s`` seconds; bucket ``b`` covers ``[b·bucket_s, (b+1)·bucket_s)``.
The ring holds the newest ``n = window_s / bucket_s`` buckets, one count per slot, channel and
bucket. The window semantics, exactly:

    an event at time ``t`` counts in the window at query time ``q`` iff
    ``q - window_s < bucket_start(t) <= q``,
    i.e. ``floor(q/bucket_s) - n < floor(t/bucket_s) <= floor(q/bucket_s)``.

So the window is the current (partial) bucket plus the ``n - 1`` before it: it looks back between
``window_s - bucket_s`` and ``window_s``, and an event leaves it all at once, when the bucket it
fell in drops off the ring. Granularity is the bucket size (5 minutes for 1 h, 1 hour for 24 h).

Times come from the caller: ``add`` takes an ``now`` and clamps event times to it (a client clock
in the future must not move the ring forward and wipe real counts), and drops events too old for
the ring (counted in ``dropped``). Answers are exact for queries at or after the newest ``now``
seen; a query further in the past sees only the buckets still held.

Storage is ``(n, capacity, channels)`` int32, so dropping a bucket clears one contiguous block and
updates are one sorted scatter-add (``np.unique`` of the cells, then one fancy ``+=``).
``advance`` reports the slots whose totals changed because a bucket left the window, so the
aggregator can rewrite exactly those rows in the online store.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

_NOTHING = np.iinfo(np.int64).min  # "this ring position holds no bucket yet"


class WindowCounter:
    def __init__(self, window_s: float, bucket_s: float, channels: int, capacity: int = 1024) -> None:
        n = window_s / bucket_s
        if bucket_s <= 0 or n < 1 or n != int(n):
            raise ValueError("window_s must be a positive whole multiple of bucket_s")
        if channels < 1:
            raise ValueError("channels must be >= 1")
        self.window_s = float(window_s)
        self.bucket_s = float(bucket_s)
        self.n_buckets = int(n)
        self.channels = channels
        self._counts = np.zeros((self.n_buckets, max(1, capacity), channels), dtype=np.int32)
        # the sum of every held bucket, kept up to date by add/advance/clear: a query at the ring's
        # head (the usual case) reads one row per slot instead of one per bucket per slot
        self._sum = np.zeros((max(1, capacity), channels), dtype=np.int64)
        # the absolute bucket number each ring position holds
        self._held = np.full(self.n_buckets, _NOTHING, dtype=np.int64)
        self._head = int(_NOTHING)
        #: events dropped because they were older than the ring when they arrived
        self.dropped = 0

    @property
    def capacity(self) -> int:
        return int(self._counts.shape[1])

    def bucket(self, t: float) -> int:
        return math.floor(t / self.bucket_s)

    def ensure_capacity(self, slots: int) -> None:
        if slots <= self.capacity:
            return
        cap = max(slots, 2 * self.capacity)
        grown = np.zeros((self.n_buckets, cap, self.channels), dtype=np.int32)
        grown[:, : self.capacity] = self._counts
        grown_sum = np.zeros((cap, self.channels), dtype=np.int64)
        grown_sum[: self.capacity] = self._sum
        self._counts, self._sum = grown, grown_sum

    def advance(self, now: float) -> IntArray:
        """Move the ring to ``now``; returns the slots that lost counts (their totals changed)."""
        head = self.bucket(now)
        if head <= self._head:
            return np.empty(0, dtype=np.int64)
        first = max(self._head + 1, head - self.n_buckets + 1)
        changed: list[IntArray] = []
        for b in range(first, head + 1):
            pos = b % self.n_buckets
            block = self._counts[pos]
            if self._held[pos] != b and self._held[pos] != _NOTHING:
                rows = np.flatnonzero(block.any(axis=1))
                self._sum[rows] -= block[rows]
                changed.append(rows)
                block[:] = 0
            self._held[pos] = b
        self._head = head
        if not changed:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.concatenate(changed)).astype(np.int64)

    def add(self, slots: npt.ArrayLike, channels: npt.ArrayLike, ts: npt.ArrayLike, now: float) -> IntArray:
        """Count one event per (slot, channel, ts); returns the slots that lost counts to ``advance``."""
        s = np.asarray(slots, dtype=np.int64)
        c = np.asarray(channels, dtype=np.int64)
        t = np.minimum(np.asarray(ts, dtype=np.float64), now)
        left = self.advance(now)
        if s.size == 0:
            return left
        if s.max() >= self.capacity:
            self.ensure_capacity(int(s.max()) + 1)
        b = np.floor(t / self.bucket_s).astype(np.int64)
        live = b > self._head - self.n_buckets
        self.dropped += int((~live).sum())
        # unique cells plus one fancy add: several times faster than np.add.at on a large ring
        # (the sorted cells are visited in memory order), and repeats are still all counted
        cells = np.ravel_multi_index((b[live] % self.n_buckets, s[live], c[live]), self._counts.shape)
        cells, n = np.unique(cells, return_counts=True)
        self._counts.reshape(-1)[cells] += n.astype(np.int32)
        # the same cells without their bucket (slot * channels + channel, the C order of _sum);
        # cells of two buckets can meet there, which add.at counts (it is small: distinct cells)
        np.add.at(self._sum.reshape(-1), cells % (self.capacity * self.channels), n)
        return left

    def totals(self, slots: npt.ArrayLike, q: float) -> IntArray:
        """Window totals at query time ``q`` for these slots: shape ``(len(slots), channels)``."""
        s = np.asarray(slots, dtype=np.int64)
        qb = self.bucket(q)
        in_window = (self._held > qb - self.n_buckets) & (self._held <= qb)
        out = np.zeros((len(s), self.channels), dtype=np.int64)
        valid = (s >= 0) & (s < self.capacity)
        if np.array_equal(in_window, self._held != _NOTHING):  # every held bucket counts: the sum
            out[valid] = self._sum[s[valid]]
        elif in_window.any() and valid.any():
            # one gather of (buckets in window) x (asked slots), not a copy of every slot's ring
            picked = self._counts[np.ix_(np.flatnonzero(in_window), s[valid])]
            out[valid] = picked.sum(axis=0, dtype=np.int64)
        return out

    def active(self, slots: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether each slot still has any count in the ring (otherwise it may be released)."""
        s = np.asarray(slots, dtype=np.int64)
        return np.asarray(self._counts[:, s].any(axis=(0, 2)), dtype=bool)

    def clear(self, slots: npt.ArrayLike) -> None:
        """Zero these slots (before their slot numbers are reused)."""
        s = np.asarray(slots, dtype=np.int64)
        self._counts[:, s] = 0
        self._sum[s] = 0

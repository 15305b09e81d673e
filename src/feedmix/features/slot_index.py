"""int64 key -> dense slot number, looked up for whole arrays at once.

The aggregator keeps counts in dense arrays indexed by slot; this maps post ids (and packed
user×community pairs) to slots. Keys are held sorted so a lookup of 1,000 ids is one
``np.searchsorted`` (the exploration source does it on the request path), not 1,000 dict lookups.
Inserting is an O(size) merge per batch of new keys, which the event path can afford. Released
slots are reused, so the arrays stay as large as the set of live keys, not of all keys ever seen.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


class SlotIndex:
    def __init__(self) -> None:
        self._keys = np.empty(0, dtype=np.int64)  # sorted
        self._slots = np.empty(0, dtype=np.int64)  # slot of self._keys[i]
        self._key_of_slot = np.empty(0, dtype=np.int64)
        self._free: list[int] = []
        #: slots handed out so far (the high-water mark; counters size their arrays by it)
        self.size = 0

    def __len__(self) -> int:
        return len(self._keys)

    def lookup(self, keys: npt.ArrayLike) -> IntArray:
        """The slot of each key, -1 for keys that have none."""
        q = np.asarray(keys, dtype=np.int64)
        if len(self._keys) == 0:
            return np.full(q.shape, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._keys, q), len(self._keys) - 1)
        return np.where(self._keys[pos] == q, self._slots[pos], -1)

    def insert(self, keys: npt.ArrayLike) -> IntArray:
        """The slot of each key, giving new keys a free slot (or the next one)."""
        q = np.asarray(keys, dtype=np.int64)
        slots = self.lookup(q)
        new = np.unique(q[slots < 0])
        if new.size:
            reuse = min(len(self._free), len(new))
            fresh = np.concatenate(
                [
                    np.array(self._free[len(self._free) - reuse :], dtype=np.int64),
                    np.arange(self.size, self.size + len(new) - reuse, dtype=np.int64),
                ]
            )
            del self._free[len(self._free) - reuse :]
            self.size += len(new) - reuse
            at = np.searchsorted(self._keys, new)
            self._keys = np.insert(self._keys, at, new)
            self._slots = np.insert(self._slots, at, fresh)
            if self.size > len(self._key_of_slot):
                grown = np.zeros(max(self.size, 2 * len(self._key_of_slot)), dtype=np.int64)
                grown[: len(self._key_of_slot)] = self._key_of_slot
                self._key_of_slot = grown
            self._key_of_slot[fresh] = new
            slots = self.lookup(q)
        return slots

    def keys(self) -> IntArray:
        """Every key that has a slot, sorted."""
        return self._keys

    def keys_of(self, slots: npt.ArrayLike) -> IntArray:
        return self._key_of_slot[np.asarray(slots, dtype=np.int64)]

    def release(self, slots: npt.ArrayLike) -> None:
        """Forget the keys of these slots; the slots are reused by later inserts."""
        s = np.unique(np.asarray(slots, dtype=np.int64))
        if s.size == 0:
            return
        keep = ~np.isin(self._slots, s)
        self._free.extend(self._slots[~keep].tolist())  # only slots that were in use
        self._keys, self._slots = self._keys[keep], self._slots[keep]

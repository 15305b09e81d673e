"""Fixed-width binary encoding of int64 ids as Redis members.

Each id becomes 8 big-endian bytes with the sign bit flipped. That makes byte-wise (lexicographic)
order equal numeric order, so Redis breaks score ties by id exactly as the in-memory stores do,
and decoding a whole reply is one ``np.frombuffer`` instead of thousands of ``int()`` calls: on
the request path a user's 2000 seen ids decode in microseconds. The price is that members are not
human-readable in ``redis-cli``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

IdArray = npt.NDArray[np.int64]

_SIGN = np.uint64(1 << 63)
_WIDTH = 8


def encode_ids(ids: npt.ArrayLike) -> list[bytes]:
    """One 8-byte member per id, in input order."""
    arr = np.asarray(ids, dtype=np.int64).ravel()
    flipped = (arr.view(np.uint64) ^ _SIGN).astype(">u8")
    buf = flipped.tobytes()
    return [buf[i : i + _WIDTH] for i in range(0, len(buf), _WIDTH)]


def decode_ids(members: Sequence[bytes]) -> IdArray:
    """The ids encoded in these members, in the same order."""
    if not members:
        return np.empty(0, dtype=np.int64)
    buf = b"".join(members)
    if len(buf) != _WIDTH * len(members):
        raise ValueError("member is not an 8-byte encoded id")
    return (np.frombuffer(buf, dtype=">u8").astype(np.uint64) ^ _SIGN).view(np.int64)

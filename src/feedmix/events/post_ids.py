"""Reddit-style base36 post ids <-> int64.

Clients and URLs speak base36 strings ("t3_" suffixes like ``1abc2z``); the feed internals keep ids
as int64 arrays (``CandidateBatch.ids``, the seen store). Twelve base36 digits (< 36**12 ~ 4.7e18)
fit in a signed int64, which is why the schema caps ids at twelve characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

IdArray = npt.NDArray[np.int64]

MAX_DIGITS = 12
# Canonical form only: no leading zeros, so each post has exactly one spelling ("0abc" would
# otherwise alias "abc" and split any join keyed by the string).
POST_ID_PATTERN = r"^(?:0|[1-9a-z][0-9a-z]{0,11})$"
_POST_ID_RE = re.compile(POST_ID_PATTERN)
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
MAX_POST_ID = 36**MAX_DIGITS - 1

# byte value -> digit value, -1 for anything that is not [0-9a-z]
_LUT = np.full(256, -1, dtype=np.int64)
for _value, _char in enumerate(_DIGITS):
    _LUT[ord(_char)] = _value


def post_id_to_int(s: str) -> int:
    """``int(s, 36)``, but only for canonical ids: lowercase base36, 1-12 digits, no leading zero.

    ``int`` alone also takes whitespace, signs, underscores, uppercase and leading zeros, which
    would let several strings name one post.
    """
    if not _POST_ID_RE.fullmatch(s):
        raise ValueError(f"not a base36 post id: {s!r}")
    return int(s, 36)


def int_to_post_id(n: int) -> str:
    """Lowercase base36 without leading zeros (``0`` -> ``"0"``)."""
    n = int(n)
    if n < 0 or n > MAX_POST_ID:
        raise ValueError(f"post id {n} is outside 0..36**12-1")
    if n == 0:
        return "0"
    out: list[str] = []
    while n:
        n, digit = divmod(n, 36)
        out.append(_DIGITS[digit])
    return "".join(reversed(out))


def post_ids_to_int(ids: Sequence[str]) -> IdArray:
    """Vectorised ``post_id_to_int``: one int64 per id, ValueError naming the first bad id.

    Decodes the ids as a fixed-width byte matrix with a lookup table and Horner's rule, about 20x
    faster than a Python loop over ``int(s, 36)`` for request-sized lists.
    """
    n = len(ids)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    try:
        raw = np.array(ids, dtype=np.bytes_)
    except UnicodeEncodeError:
        raise ValueError("post ids must be ASCII base36") from None
    width = raw.dtype.itemsize
    lengths = np.char.str_len(raw)
    # numpy drops trailing NULs, so compare with the real lengths or "a\x00" would pass as "a"
    true_lengths = np.fromiter(map(len, ids), dtype=np.int64, count=n)
    digits = _LUT[raw.view(np.uint8).reshape(n, width)]
    in_id = np.arange(width) < lengths[:, None]
    leading_zero = (digits[:, 0] == 0) & (lengths > 1)
    bad = (lengths == 0) | (lengths > MAX_DIGITS) | (lengths != true_lengths) | leading_zero
    bad |= np.any(in_id & (digits < 0), axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(f"not a base36 post id: {ids[first]!r}")
    acc = np.zeros(n, dtype=np.int64)
    for j in range(width):
        acc = np.where(in_id[:, j], acc * 36 + digits[:, j], acc)
    return acc


def ints_to_post_ids(ids: Iterable[int] | IdArray) -> list[str]:
    """Vectorisable inverse of ``post_ids_to_int`` (a loop: the result is Python strings anyway)."""
    return [int_to_post_id(int(n)) for n in np.asarray(ids, dtype=np.int64).ravel().tolist()]

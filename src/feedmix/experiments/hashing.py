"""Deterministic bucketing: a unit and a seed hash to a number in [0, 1), with no lookup table.

The scheme is GrowthBook's published one (the SDK specification's ``hash`` and ``getBucketRange``
test cases pass here: ``tests/experiments/test_hashing.py``), adopted rather than invented so that
assignments can be reproduced by any GrowthBook SDK and checked against published vectors:

* version 1: ``fnv1a32(value + seed) % 1000 / 1000``;
* version 2 (what feedmix uses): ``fnv1a32(str(fnv1a32(seed + value))) % 10000 / 10000`` - the
  second pass spreads sequential ids and gives 10,000 buckets, fine enough for 0.01% ramps.

FNV-1a works one character at a time, so the state after a seed is computed once per seed
(:class:`SeededHash`) and each request hashes only its unit id: that is what keeps assigning a request
to 20 experiments in a few microseconds.
"""

from __future__ import annotations

from collections.abc import Sequence

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
_MASK = 0xFFFFFFFF


def _code_units(text: str) -> bytes | list[int]:
    """The characters as the JavaScript SDKs see them (UTF-16 code units); ASCII is the fast path."""
    if text.isascii():
        return text.encode("ascii")
    raw = text.encode("utf-16-le")
    return [raw[i] | (raw[i + 1] << 8) for i in range(0, len(raw), 2)]


def fnv1a32(text: str, state: int = _FNV_OFFSET) -> int:
    h = state
    for c in _code_units(text):
        h = ((h ^ c) * _FNV_PRIME) & _MASK
    return h


def gb_hash(seed: str, value: str, version: int = 2) -> float | None:
    """GrowthBook's hash of ``value`` under ``seed``; None for an unknown version (as the spec says)."""
    if version == 1:
        return (fnv1a32(value + seed) % 1000) / 1000
    if version == 2:
        return (fnv1a32(str(fnv1a32(seed + value))) % 10000) / 10000
    return None


class SeededHash:
    """Version-2 hashing under one fixed seed, with the seed's FNV state computed once."""

    __slots__ = ("_state", "seed")

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self._state = fnv1a32(seed)

    def __call__(self, value: str) -> float:
        return (fnv1a32(str(fnv1a32(value, self._state))) % 10000) / 10000


def bucket_ranges(
    n_variants: int, coverage: float, weights: Sequence[float] | None = None
) -> list[tuple[float, float]]:
    """Each variant's slice of [0, 1): variant *i* owns ``[w_0 + ... + w_{i-1}, that + coverage * w_i)``.

    A slice starts where it would at full coverage, so raising the coverage only lengthens every
    slice: a unit already in a variant stays in it through a ramp. Out-of-range inputs are handled as
    the GrowthBook spec says (coverage clamped to [0, 1]; weights of the wrong length, or not summing
    to 1 within 0.01, become equal weights).
    """
    coverage = min(1.0, max(0.0, coverage))
    equal = [1.0 / n_variants] * n_variants
    ws = list(weights) if weights is not None else equal
    if len(ws) != n_variants or not 0.99 <= sum(ws) <= 1.01:
        ws = equal
    out: list[tuple[float, float]] = []
    start = 0.0
    for w in ws:
        out.append((start, start + coverage * w))
        start += w
    return out


def choose_variant(n: float, ranges: Sequence[tuple[float, float]]) -> int:
    """The index of the slice holding ``n``, or -1 when it falls outside every slice (not covered)."""
    for i, (low, high) in enumerate(ranges):
        if low <= n < high:
            return i
    return -1

"""Bucketing follows GrowthBook's published SDK specification: its test vectors pass here.

The vectors are the ``hash`` and ``getBucketRange`` cases of GrowthBook's ``cases.json`` (the SDK
test suite every GrowthBook SDK runs), so an assignment made here can be reproduced by any of them.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedmix.experiments.hashing import SeededHash, bucket_ranges, choose_variant, fnv1a32, gb_hash

# (seed, value, version, expected): GrowthBook cases.json "hash"
HASH_CASES = [
    ("", "a", 1, 0.22),
    ("", "b", 1, 0.077),
    ("b", "a", 1, 0.946),
    ("ef", "d", 1, 0.652),
    ("asdf", "8952klfjas09ujk", 1, 0.549),
    ("", "123", 1, 0.011),
    ("", '___)((*":&', 1, 0.563),
    ("seed", "a", 2, 0.0505),
    ("seed", "b", 2, 0.2696),
    ("foo", "ab", 2, 0.2575),
    ("foo", "def", 2, 0.2019),
    ("89123klj", "8952klfjas09ujkasdf", 2, 0.124),
    ("90850943850283058242805", "123", 2, 0.7516),
    ("()**(%$##$%#$#", '___)((*":&', 2, 0.0128),
    ("abc", "def", 99, None),
]

# (name, (n_variants, coverage, weights), expected ranges): GrowthBook cases.json "getBucketRange"
RANGE_CASES = [
    ("normal 50/50", (2, 1, None), [(0, 0.5), (0.5, 1)]),
    ("reduced coverage", (2, 0.5, None), [(0, 0.25), (0.5, 0.75)]),
    ("zero coverage", (2, 0, None), [(0, 0), (0.5, 0.5)]),
    ("4 variations", (4, 1, None), [(0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1)]),
    ("uneven weights", (2, 1, [0.4, 0.6]), [(0, 0.4), (0.4, 1)]),
    ("uneven weights, 3 variations", (3, 1, [0.2, 0.3, 0.5]), [(0, 0.2), (0.2, 0.5), (0.5, 1)]),
    ("uneven weights, reduced coverage, 3", (3, 0.2, [0.2, 0.3, 0.5]), [(0, 0.04), (0.2, 0.26), (0.5, 0.6)]),
    ("negative coverage", (2, -0.2, None), [(0, 0), (0.5, 0.5)]),
    ("coverage above 1", (2, 1.5, None), [(0, 0.5), (0.5, 1)]),
    ("weights sum below 1", (2, 1, [0.4, 0.1]), [(0, 0.5), (0.5, 1)]),
    ("weights sum above 1", (2, 1, [0.7, 0.6]), [(0, 0.5), (0.5, 1)]),
    ("weights length mismatch", (4, 1, [0.4, 0.4, 0.2]), [(0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1)]),
    ("weights sum almost 1", (2, 1, [0.4, 0.5999]), [(0, 0.4), (0.4, 0.9999)]),
]


def test_fnv1a32_matches_the_reference_vectors() -> None:
    # the FNV-1a 32-bit reference test suite (Landon Curt Noll's test_fnv.c)
    assert fnv1a32("") == 0x811C9DC5
    assert fnv1a32("a") == 0xE40C292C
    assert fnv1a32("foobar") == 0xBF9CF968


@pytest.mark.parametrize(("seed", "value", "version", "expected"), HASH_CASES)
def test_growthbook_hash_vectors(seed: str, value: str, version: int, expected: float | None) -> None:
    assert gb_hash(seed, value, version) == expected


@pytest.mark.parametrize(("name", "args", "expected"), RANGE_CASES, ids=[c[0] for c in RANGE_CASES])
def test_growthbook_bucket_range_vectors(
    name: str, args: tuple[int, float, list[float] | None], expected: list[tuple[float, float]]
) -> None:
    got = [x for pair in bucket_ranges(*args) for x in pair]
    assert got == pytest.approx([x for pair in expected for x in pair], abs=1e-12), name


@given(st.text(min_size=0, max_size=30), st.text(min_size=1, max_size=40))
@settings(max_examples=200, deadline=None)
def test_the_seeded_hash_is_growthbooks_v2_hash(seed: str, value: str) -> None:
    assert SeededHash(seed)(value) == gb_hash(seed, value, 2)


@given(st.floats(0, 1), st.floats(0, 1), st.lists(st.floats(0.01, 1), min_size=2, max_size=5))
@settings(max_examples=200, deadline=None)
def test_ramping_up_never_moves_a_unit_to_another_variant(n: float, c1: float, raw: list[float]) -> None:
    weights = [w / sum(raw) for w in raw]
    low, high = sorted((c1, (c1 + 1) / 2))
    before = choose_variant(n, bucket_ranges(len(weights), low, weights))
    after = choose_variant(n, bucket_ranges(len(weights), high, weights))
    assert before in (-1, after)


def test_bucketing_is_uniform_over_many_units() -> None:
    h = SeededHash("layer-ranking")
    values = [h(f"u{i:06d}") for i in range(40_000)]
    counts = [0] * 10
    for v in values:
        counts[int(v * 10)] += 1
    # each decile within 5% of its expectation (4,000): a biased hash would show at once
    assert all(abs(c - 4_000) < 200 for c in counts), counts

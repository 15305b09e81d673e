"""The blender: ads only at allowed positions, never beside unsafe posts, within gap and load."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedmix.ads.decision.ad_placement import SAFE, TIER_MIN_SAFETY, UNRATED, UNSAFE, BlendParams, blend


def test_default_page_of_25_gets_ads_at_positions_2_and_8() -> None:
    b = blend([SAFE] * 25, ["standard", "standard", "standard", "standard", "standard"])
    assert b.ad_positions[:2] == [2, 8] and b.order[2] == ("ad", 0)
    # 25 posts at 15% load: 4 ads at most (4 / 29 <= 0.15); the fifth is dropped
    assert sum(p >= 0 for p in b.ad_positions) == 4 and b.dropped == 1


def test_an_ad_moves_past_an_nsfw_post_and_strict_ads_need_rated_neighbours() -> None:
    safety = [SAFE, SAFE, UNSAFE, SAFE, UNRATED, SAFE, SAFE, SAFE]
    b = blend(safety, ["standard"], BlendParams(first_position=2, min_gap=2, max_load=0.5))
    # before post 2 (next to the NSFW post) and before post 3 (after it) are refused: before post 4
    assert b.ad_positions == [4]
    s = blend(safety, ["strict"], BlendParams(first_position=2, min_gap=2, max_load=0.5))
    assert s.ad_positions == [6]  # needs SAFE on both sides: between posts 5 and 6


@given(
    safety=st.lists(st.sampled_from([UNSAFE, UNRATED, SAFE]), max_size=40),
    tiers=st.lists(st.sampled_from(["strict", "standard", "relaxed"]), max_size=8),
    first=st.integers(0, 6),
    gap=st.integers(1, 6),
    load=st.floats(0, 0.6),
)
def test_blend_properties(safety: list[int], tiers: list[str], first: int, gap: int, load: float) -> None:
    b = blend(safety, tiers, BlendParams(first_position=first, min_gap=gap, max_load=load))
    posts = [i for kind, i in b.order if kind == "post"]
    assert posts == list(range(len(safety)))  # every post, in order
    ads = [(pos, kind_i[1]) for pos, kind_i in enumerate(b.order) if kind_i[0] == "ad"]
    assert [j for _, j in ads] == sorted(j for _, j in ads)  # auction order kept
    assert len(ads) + b.dropped == len(tiers)
    if b.order:
        assert len(ads) <= load * len(b.order) + 1e-9
    last = None
    for pos, j in ads:
        assert b.ad_positions[j] == pos and pos >= first
        need = TIER_MIN_SAFETY[tiers[j]]
        for neighbour in (pos - 1, pos + 1):
            if 0 <= neighbour < len(b.order):
                kind, i = b.order[neighbour]
                assert kind == "post" and safety[i] >= need  # never beside an unsafe post or an ad
        if last is not None:
            between = sum(1 for k in b.order[last + 1 : pos] if k[0] == "post")
            assert between >= gap
        last = pos


def test_bad_params_are_refused() -> None:
    with pytest.raises(ValueError, match="max_load"):
        BlendParams(max_load=1.5)
    with pytest.raises(ValueError, match="min_gap"):
        BlendParams(min_gap=0)

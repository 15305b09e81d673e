"""GSP properties: price within [reserve, bid], eCPM order, one ad per advertiser, rank-keeping prices."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from feedmix.ads.decision.auction import AuctionResult, ecpm_of, quality_factor, run_auction


@st.composite
def auctions(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(0, 40))
    bids = draw(st.lists(st.integers(1, 20_000_000), min_size=n, max_size=n))
    cpm = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    pctr = draw(st.lists(st.floats(1e-4, 0.5), min_size=n, max_size=n))
    adv = draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))
    slots = draw(st.integers(1, 5))
    reserve = draw(st.lists(st.floats(0, 50_000.0), min_size=slots, max_size=slots))
    return {
        "bid_micros": np.array(bids, dtype=np.int64),
        "is_cpm": np.array(cpm, dtype=np.bool_),
        "pctr": np.array(pctr, dtype=np.float64),
        "advertiser": np.array(adv, dtype=np.int64),
        "n_slots": slots,
        "reserve_ecpm": sorted(reserve, reverse=True),
    }


def _run(a: dict[str, object]) -> AuctionResult:
    pctr = a["pctr"]
    is_cpm = a["is_cpm"]
    assert isinstance(pctr, np.ndarray) and isinstance(is_cpm, np.ndarray)
    quality = quality_factor(pctr, is_cpm, prior_ctr=0.01)
    return run_auction(quality=quality, **a)  # type: ignore[arg-type]


def _unit_value(a: dict[str, object], i: int) -> float:
    """eCPM per micro of bid for candidate ``i`` (to convert a price back into eCPM)."""
    pctr, is_cpm = a["pctr"], a["is_cpm"]
    assert isinstance(pctr, np.ndarray) and isinstance(is_cpm, np.ndarray)
    q = float(quality_factor(pctr[i : i + 1], is_cpm[i : i + 1], prior_ctr=0.01)[0])
    return q if is_cpm[i] else float(pctr[i]) * q * 1000.0


@settings(max_examples=300, deadline=None)
@given(auctions())
def test_prices_within_reserve_and_bid_winners_sorted_distinct_advertisers(a: dict[str, object]) -> None:
    res = _run(a)
    bids, adv = a["bid_micros"], a["advertiser"]
    reserves = a["reserve_ecpm"]
    assert isinstance(bids, np.ndarray) and isinstance(adv, np.ndarray) and isinstance(reserves, list)
    assert len(res.winners) <= int(a["n_slots"])  # type: ignore[call-overload]
    assert np.all(np.diff(res.ecpm) <= 1e-9), "winners in eCPM order"
    assert len(set(adv[res.winners].tolist())) == len(res.winners), "one ad per advertiser"
    for slot, (i, price) in enumerate(zip(res.winners.tolist(), res.price_micros.tolist(), strict=True)):
        assert 0 <= price <= bids[i]
        assert res.ecpm[slot] >= reserves[slot]
        # the price, turned back into eCPM, reaches the slot's reserve (up to a micro of rounding)
        assert (price + 1) * _unit_value(a, i) >= reserves[slot]


@settings(max_examples=200, deadline=None)
@given(auctions(), st.floats(1.01, 5.0))
def test_raising_a_bid_never_lowers_rank_and_the_price_does_not_depend_on_the_bid(
    a: dict[str, object], factor: float
) -> None:
    res = _run(a)
    if len(res.winners) == 0:
        return
    i = int(res.winners[0])
    bids = a["bid_micros"]
    assert isinstance(bids, np.ndarray)
    raised = dict(a, bid_micros=bids.copy())
    raised["bid_micros"][i] = int(bids[i] * factor)  # type: ignore[index]
    res2 = _run(raised)
    assert int(res2.winners[0]) == i, "the top winner stays on top with a higher bid"
    # GSP: what the winner pays is set by the others (and the reserve), not by its own bid
    assert int(res2.price_micros[0]) == int(res.price_micros[0])


def test_gsp_example_by_hand() -> None:
    # three CPC advertisers, pCTR 0.02 each, quality 1: eCPM = bid * 0.02 * 1000 = bid * 20
    res = run_auction(
        bid_micros=np.array([3_000_000, 2_000_000, 1_000_000]),
        is_cpm=np.zeros(3, dtype=np.bool_),
        pctr=np.full(3, 0.02),
        quality=np.ones(3),
        advertiser=np.array([0, 1, 2]),
        n_slots=2,
        reserve_ecpm=0.0,
    )
    assert res.winners.tolist() == [0, 1]
    assert res.price_micros.tolist() == [2_000_000, 1_000_000]  # each pays the next bid
    # a reserve above the runner-up sets the price instead
    res = run_auction(
        bid_micros=np.array([3_000_000, 1_000_000]),
        is_cpm=np.zeros(2, dtype=np.bool_),
        pctr=np.full(2, 0.02),
        quality=np.ones(2),
        advertiser=np.array([0, 1]),
        n_slots=1,
        reserve_ecpm=50_000_000.0,
    )
    assert res.price_micros.tolist() == [2_500_000]


def test_cpc_and_cpm_compare_in_the_same_unit() -> None:
    ecpm = ecpm_of(
        np.array([1_000_000, 20_000_000]), np.array([False, True]), np.array([0.02, 0.0]), np.ones(2)
    )
    assert ecpm.tolist() == [20_000_000.0, 20_000_000.0]
    assert (
        run_auction(
            bid_micros=np.zeros(0, dtype=np.int64),
            is_cpm=np.zeros(0, dtype=np.bool_),
            pctr=np.zeros(0),
            quality=np.zeros(0),
            advertiser=np.zeros(0, dtype=np.int64),
            n_slots=3,
        ).winners.size
        == 0
    )

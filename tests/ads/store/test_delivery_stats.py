"""Daily delivery aggregates: atomic adds, no lost updates, exact report arithmetic."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedmix.ads.store.campaign_store import Delivery, ReportRow, totals
from feedmix.ads.store.model import AdGroup, Campaign
from feedmix.ads.store.sql_campaign_store import SqlCampaignStore

D1, D2, D3 = dt.date(2024, 5, 1), dt.date(2024, 5, 2), dt.date(2024, 5, 3)


def make_campaign(store: SqlCampaignStore, advertiser_id: str, groups: int = 1) -> tuple[str, list[str]]:
    c = store.create_campaign(Campaign("", advertiser_id, "c", "traffic", "daily", 1_000_000, 0.0, 1e10))
    ids = [
        store.create_ad_group(AdGroup("", c.campaign_id, "g", "cpc", 100_000)).ad_group_id
        for _ in range(groups)
    ]
    return c.campaign_id, ids


def test_deliveries_add_up_per_campaign_and_day(store: SqlCampaignStore) -> None:
    adv, _ = store.create_advertiser("acme")
    c, (g1, g2) = make_campaign(store, adv.advertiser_id, groups=2)
    store.record_delivery(c, g1, D1, impressions=100, clicks=3, spend_micros=900_000)
    store.record_delivery(c, g1, D1, impressions=50, clicks=1, spend_micros=300_000)
    store.record_delivery(c, g2, D1, impressions=10, clicks=0, spend_micros=0)
    store.record_delivery(c, g1, D2, impressions=1000, clicks=0, spend_micros=2_000_000)

    rows = store.report(adv.advertiser_id, D1, D3)

    assert rows == [ReportRow(c, D1, 160, 4, 1_200_000), ReportRow(c, D2, 1000, 0, 2_000_000)]
    assert store.spend_micros(c, D1, D1) == 1_200_000
    assert store.spend_micros(c, D1, D3) == 3_200_000
    assert store.spend_micros(c, D3, D3) == 0


def test_report_days_are_inclusive_and_scoped_to_the_advertiser(store: SqlCampaignStore) -> None:
    acme, _ = store.create_advertiser("acme")
    globex, _ = store.create_advertiser("globex")
    c1, (g1,) = make_campaign(store, acme.advertiser_id)
    c2, (g2,) = make_campaign(store, acme.advertiser_id)
    c3, (g3,) = make_campaign(store, globex.advertiser_id)
    for day in (D1, D2, D3):
        store.record_delivery(c1, g1, day, 1, 0, 1)
        store.record_delivery(c2, g2, day, 2, 0, 2)
        store.record_delivery(c3, g3, day, 3, 0, 3)

    rows = store.report(acme.advertiser_id, D2, D3)
    assert [(r.day, r.campaign_id) for r in rows] == sorted(
        [(D2, c1), (D2, c2), (D3, c1), (D3, c2)], key=lambda x: (x[0], x[1])
    )
    assert store.report(acme.advertiser_id, D3, D2) == []
    assert [r.campaign_id for r in store.report(acme.advertiser_id, D1, D3, campaign_id=c2)] == [c2] * 3
    assert store.report(acme.advertiser_id, D1, D3, campaign_id=c3) == []
    assert {t.campaign_id: t.impressions for t in totals(rows)} == {c1: 2, c2: 4}


def test_rates_are_exact_and_undefined_without_a_denominator() -> None:
    row = ReportRow("c", D1, impressions=2000, clicks=30, spend_micros=4_500_001)
    assert row.ctr == pytest.approx(0.015)
    assert row.cpc_micros == 150_000  # 150000.03 rounds down
    assert row.ecpm_micros == 2_250_001  # 2250000.5 rounds half up

    nothing = ReportRow("c", D1, 0, 0, 0)
    assert (nothing.ctr, nothing.cpc_micros, nothing.ecpm_micros) == (None, None, None)
    no_clicks = ReportRow("c", D1, 10, 0, 700)
    assert (no_clicks.ctr, no_clicks.cpc_micros, no_clicks.ecpm_micros) == (0.0, None, 70_000)


@given(
    spend=st.integers(0, 10**15),
    clicks=st.integers(0, 10**9),
    impressions=st.integers(0, 10**9),
)
def test_rounded_rates_are_within_half_a_micro(spend: int, clicks: int, impressions: int) -> None:
    row = ReportRow("c", D1, impressions, clicks, spend)
    if clicks:
        assert row.cpc_micros is not None
        assert abs(row.cpc_micros * clicks - spend) * 2 <= clicks
    if impressions:
        assert row.ecpm_micros is not None
        assert abs(row.ecpm_micros * impressions - spend * 1000) * 2 <= impressions


def test_negative_or_malformed_deliveries_are_refused(store: SqlCampaignStore) -> None:
    with pytest.raises(ValueError, match="clicks"):
        store.record_delivery("c", "g", D1, impressions=1, clicks=-1)
    with pytest.raises(ValueError, match="spend_micros"):
        store.record_delivery("c", "g", D1, spend_micros=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="day"):
        store.record_delivery("c", "g", dt.datetime(2024, 1, 1), 1)
    with pytest.raises(ValueError):
        store.record_delivery("", "g", D1, 1)


def test_a_batch_is_all_or_nothing(store: SqlCampaignStore) -> None:
    adv, _ = store.create_advertiser("acme")
    c, (g,) = make_campaign(store, adv.advertiser_id)
    with pytest.raises(ValueError):
        store.record_deliveries([Delivery(c, g, D1, 5, 1, 10), Delivery(c, g, D1, -5, 0, 0)])
    assert store.report(adv.advertiser_id, D1, D1) == []
    store.record_deliveries(
        [Delivery(c, g, D1, 5, 1, 10), Delivery(c, g, D1, 5, 0, 10), Delivery(c, g, D2, 1)]
    )
    assert [(r.impressions, r.clicks, r.spend_micros) for r in store.report(adv.advertiser_id, D1, D2)] == [
        (10, 1, 20),
        (1, 0, 0),
    ]
    store.record_deliveries([])


def test_concurrent_adds_from_threads_are_not_lost(store: SqlCampaignStore) -> None:
    adv, _ = store.create_advertiser("acme")
    c, groups = make_campaign(store, adv.advertiser_id, groups=2)
    n_threads, per_thread = 6, 25
    errors: list[BaseException] = []
    barrier = threading.Barrier(n_threads)

    def work(i: int) -> None:
        try:
            barrier.wait()
            for j in range(per_thread):
                # both groups and days in alternating order, so writers overlap on every row
                g = groups[(i + j) % 2]
                store.record_delivery(c, g, D1 if j % 3 else D2, impressions=1, clicks=j % 2, spend_micros=7)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    (total,) = totals(store.report(adv.advertiser_id, D1, D2))
    n = n_threads * per_thread
    assert total.impressions == n
    assert total.clicks == n_threads * (per_thread // 2)
    assert total.spend_micros == 7 * n


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    deliveries=st.lists(
        st.tuples(
            st.integers(0, 1),  # ad group
            st.sampled_from([D1, D2, D3]),
            st.integers(0, 10**6),
            st.integers(0, 10**4),
            st.integers(0, 10**12),
        ),
        max_size=15,
    )
)
def test_any_sequence_of_deliveries_sums_exactly(
    store: SqlCampaignStore, deliveries: list[tuple[int, dt.date, int, int, int]]
) -> None:
    adv, _ = store.create_advertiser(f"acme-{uuid.uuid4().hex[:6]}")  # one advertiser per example
    c, groups = make_campaign(store, adv.advertiser_id, groups=2)
    for g, day, imp, clk, spend in deliveries:
        store.record_delivery(c, groups[g], day, imp, clk, spend)

    expected: dict[dt.date, list[int]] = {}
    for _, day, imp, clk, spend in deliveries:
        acc = expected.setdefault(day, [0, 0, 0])
        acc[0] += imp
        acc[1] += clk
        acc[2] += spend
    rows = store.report(adv.advertiser_id, D1, D3)
    assert {r.day: [r.impressions, r.clicks, r.spend_micros] for r in rows} == expected

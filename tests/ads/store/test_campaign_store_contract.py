"""The CampaignStore contract, run against SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from feedmix.ads.store.campaign_store import CampaignStore, NotFound
from feedmix.ads.store.model import (
    Ad,
    AdGroup,
    Advertiser,
    Campaign,
    FrequencyCap,
    Schedule,
    Targeting,
)
from feedmix.ads.store.sql_campaign_store import SqlCampaignStore

T0, T1 = 1_000.0, 2_000.0


def campaign(advertiser_id: str, **kw: Any) -> Campaign:
    base: dict[str, Any] = {
        "campaign_id": "",
        "advertiser_id": advertiser_id,
        "name": "spring",
        "objective": "traffic",
        "budget_kind": "daily",
        "budget_micros": 50_000_000,
        "start_ts": T0,
        "end_ts": T1,
    }
    return Campaign(**{**base, **kw})


def group(campaign_id: str, **kw: Any) -> AdGroup:
    base: dict[str, Any] = {"ad_group_id": "", "campaign_id": campaign_id, "name": "g", "bid_kind": "cpc"}
    return AdGroup(**{"bid_micros": 250_000, **base, **kw})


def ad(ad_group_id: str, **kw: Any) -> Ad:
    base: dict[str, Any] = {"ad_id": "", "ad_group_id": ad_group_id, "headline": "Buy", "body": "now"}
    return Ad(**{"click_url": "https://shop.example/x", **base, **kw})


def tree(store: CampaignStore, name: str = "acme") -> tuple[Advertiser, Campaign, AdGroup, Ad]:
    adv, _ = store.create_advertiser(name)
    c = store.create_campaign(campaign(adv.advertiser_id))
    g = store.create_ad_group(group(c.campaign_id), adv.advertiser_id)
    a = store.create_ad(ad(g.ad_group_id), adv.advertiser_id)
    return adv, c, g, a


def test_the_sql_store_satisfies_the_protocol(store: SqlCampaignStore) -> None:
    assert isinstance(store, CampaignStore)


def test_objects_round_trip_with_every_field(store: SqlCampaignStore) -> None:
    adv, _ = store.create_advertiser("acme")
    c = store.create_campaign(campaign(adv.advertiser_id, objective="awareness", budget_kind="lifetime"))
    targeting = Targeting(
        communities=("python", "rust"),
        interests=("tech",),
        keywords=("laptop",),
        geos=("US", "DE-BY"),
        devices=("mobile", "tablet"),
        exclude_communities=("politics",),
        exclude_keywords=("war",),
        exclude_nsfw=False,
    )
    g = store.create_ad_group(
        group(
            c.campaign_id,
            bid_kind="cpm",
            bid_micros=3_500_000,
            targeting=targeting,
            frequency_cap=FrequencyCap(3, 3600.0),
            safety_tier="strict",
            schedule=Schedule((0, 1, 167)),
            status="paused",
        )
    )
    a = store.create_ad(ad(g.ad_group_id, call_to_action="Shop", image_sha256="ab" * 32))

    assert c.campaign_id.startswith("cmp_") and g.ad_group_id.startswith("adg_") and a.ad_id.startswith("ad_")
    assert store.get_advertiser(adv.advertiser_id) == adv
    assert store.get_campaign(c.campaign_id) == c
    assert store.get_ad_group(g.ad_group_id) == g
    assert store.get_ad(a.ad_id) == a
    assert store.list_campaigns(adv.advertiser_id) == [c]
    assert store.list_ad_groups(adv.advertiser_id) == [g]
    assert store.list_ad_groups(adv.advertiser_id, c.campaign_id) == [g]
    assert store.list_ads(adv.advertiser_id, g.ad_group_id) == [a]
    assert store.list_advertisers() == [adv]


def test_given_ids_are_kept(store: SqlCampaignStore) -> None:
    adv, _ = store.create_advertiser("acme")
    c = store.create_campaign(campaign(adv.advertiser_id, campaign_id="cmp_fixed"))
    assert store.get_campaign("cmp_fixed") == c


def test_api_keys_resolve_and_only_their_hash_is_stored(store: SqlCampaignStore) -> None:
    adv, key = store.create_advertiser("acme")
    other, other_key = store.create_advertiser("globex")

    assert store.advertiser_for_key(key) == adv
    assert store.advertiser_for_key(other_key) == other
    assert store.advertiser_for_key(key + "x") is None
    assert store.advertiser_for_key("") is None
    with store._engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT api_key_hash FROM ads_advertisers")).scalars().all()
    assert key not in stored
    assert hashlib.sha256(key.encode()).hexdigest() in stored


def test_rotating_a_key_revokes_the_old_one(store: SqlCampaignStore) -> None:
    adv, old = store.create_advertiser("acme")
    new = store.rotate_api_key(adv.advertiser_id)
    assert store.advertiser_for_key(old) is None
    assert store.advertiser_for_key(new) == adv
    with pytest.raises(NotFound):
        store.rotate_api_key("adv_missing")


def test_scoped_reads_hide_other_advertisers_objects(store: SqlCampaignStore) -> None:
    acme, c, g, a = tree(store, "acme")
    globex, _ = store.create_advertiser("globex")
    mine, theirs = acme.advertiser_id, globex.advertiser_id

    assert store.get_campaign(c.campaign_id, mine) == c
    assert store.get_campaign(c.campaign_id, theirs) is None
    assert store.get_ad_group(g.ad_group_id, theirs) is None
    assert store.get_ad(a.ad_id, theirs) is None
    assert store.list_campaigns(theirs) == []
    assert store.list_ad_groups(theirs) == []
    assert store.list_ads(theirs) == []


def test_scoped_writes_refuse_other_advertisers_objects(store: SqlCampaignStore) -> None:
    _acme, c, g, a = tree(store, "acme")
    globex, _ = store.create_advertiser("globex")
    theirs = globex.advertiser_id

    with pytest.raises(NotFound):
        store.update_campaign(dataclasses.replace(c, advertiser_id=theirs, name="stolen"))
    with pytest.raises(NotFound):
        store.create_ad_group(group(c.campaign_id), theirs)
    with pytest.raises(NotFound):
        store.update_ad_group(dataclasses.replace(g, name="stolen"), theirs)
    with pytest.raises(NotFound):
        store.create_ad(ad(g.ad_group_id), theirs)
    with pytest.raises(NotFound):
        store.update_ad(dataclasses.replace(a, headline="stolen"), theirs)
    assert store.get_campaign(c.campaign_id) == c
    assert store.get_ad_group(g.ad_group_id) == g
    assert store.get_ad(a.ad_id) == a


def test_updates_replace_fields_but_never_move_objects(store: SqlCampaignStore) -> None:
    adv, c, g, a = tree(store)
    c2 = store.create_campaign(campaign(adv.advertiser_id, name="other"))

    updated = store.update_campaign(dataclasses.replace(c, name="renamed", budget_micros=7, status="paused"))
    assert store.get_campaign(c.campaign_id) == updated
    g_new = dataclasses.replace(g, bid_micros=999_999, targeting=Targeting(keywords=("k",)))
    assert store.update_ad_group(g_new, adv.advertiser_id) == store.get_ad_group(g.ad_group_id)
    assert store.update_ad(dataclasses.replace(a, headline="New")) == store.get_ad(a.ad_id)

    with pytest.raises(NotFound):  # re-parenting is not an update
        store.update_ad_group(dataclasses.replace(g, campaign_id=c2.campaign_id))
    with pytest.raises(NotFound):
        store.update_campaign(campaign(adv.advertiser_id, campaign_id="cmp_missing"))
    with pytest.raises(NotFound):
        store.update_advertiser(Advertiser("adv_missing", "x"))


def test_children_need_an_existing_parent(store: SqlCampaignStore) -> None:
    with pytest.raises(NotFound):
        store.create_campaign(campaign("adv_missing"))
    with pytest.raises(NotFound):
        store.create_ad_group(group("cmp_missing"))
    with pytest.raises(NotFound):
        store.create_ad(ad("adg_missing"))


def test_every_write_moves_the_revision_forward(store: SqlCampaignStore) -> None:
    seen = [store.revision()]
    adv, _c, _g, a = tree(store)
    seen.append(store.revision())
    store.update_ad(dataclasses.replace(a, status="paused"))
    seen.append(store.revision())
    store.update_advertiser(dataclasses.replace(adv, name="ACME"))
    seen.append(store.revision())

    assert seen == sorted(set(seen))
    assert seen[1] - seen[0] == 4  # advertiser, campaign, group, ad


def test_delivery_does_not_move_the_revision(store: SqlCampaignStore) -> None:
    import datetime as dt

    _, c, g, _ = tree(store)
    before = store.revision()
    store.record_delivery(c.campaign_id, g.ad_group_id, dt.date(2024, 5, 1), 10, 1, 100)
    assert store.revision() == before


def test_a_failed_write_does_not_move_the_revision(store: SqlCampaignStore) -> None:
    before = store.revision()
    with pytest.raises(NotFound):
        store.create_ad_group(group("cmp_missing"))
    assert store.revision() == before


def test_the_snapshot_holds_exactly_what_may_serve(store: SqlCampaignStore) -> None:
    adv, c, g, a = tree(store)
    paused_ad = store.create_ad(ad(g.ad_group_id, status="paused"))
    g_paused = store.create_ad_group(group(c.campaign_id, status="paused"))
    store.create_ad(ad(g_paused.ad_group_id))
    store.create_ad_group(group(c.campaign_id, name="no ads"))
    g_only_paused = store.create_ad_group(group(c.campaign_id, name="only paused ads"))
    store.create_ad(ad(g_only_paused.ad_group_id, status="archived"))
    c_paused = store.create_campaign(campaign(adv.advertiser_id, status="paused"))
    store.create_ad(ad(store.create_ad_group(group(c_paused.campaign_id)).ad_group_id))
    c_later = store.create_campaign(campaign(adv.advertiser_id, start_ts=T1, end_ts=T1 + 100))
    g_later = store.create_ad_group(group(c_later.campaign_id))
    a_later = store.create_ad(ad(g_later.ad_group_id))
    off, _ = store.create_advertiser("paused advertiser")
    store.update_advertiser(dataclasses.replace(off, status="paused"))
    c_off = store.create_campaign(campaign(off.advertiser_id))
    store.create_ad(ad(store.create_ad_group(group(c_off.campaign_id)).ad_group_id))

    snap = store.active_snapshot(now=T0)
    assert snap.revision == store.revision()
    assert snap.now == T0
    assert [(s.campaign, s.ad_group, s.ads) for s in snap.groups] == [(c, g, (a,))]
    assert paused_ad not in snap.groups[0].ads

    assert store.active_snapshot(now=T0 - 1).groups == ()
    at_end = store.active_snapshot(now=T1)  # end is exclusive, start inclusive
    assert [(s.campaign, s.ad_group, s.ads) for s in at_end.groups] == [(c_later, g_later, (a_later,))]


def test_the_snapshot_takes_a_few_queries_whatever_its_size(store: SqlCampaignStore) -> None:
    adv, _ = store.create_advertiser("acme")
    for i in range(5):
        c = store.create_campaign(campaign(adv.advertiser_id, name=f"c{i}"))
        for _ in range(4):
            g = store.create_ad_group(group(c.campaign_id))
            store.create_ad(ad(g.ad_group_id))
            store.create_ad(ad(g.ad_group_id))
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    sa.event.listen(store._engine, "before_cursor_execute", count)
    try:
        snap = store.active_snapshot(now=T0)
    finally:
        sa.event.remove(store._engine, "before_cursor_execute", count)

    assert len(snap.groups) == 20
    assert all(len(s.ads) == 2 for s in snap.groups)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 3
    # campaigns are shared, not copied per group
    assert len({id(s.campaign) for s in snap.groups}) == 5


def test_two_stores_on_one_database_share_writes(open_store: Callable[[], SqlCampaignStore]) -> None:
    first, second = open_store(), open_store()
    _adv, _c, _g, a = tree(first)
    assert second.get_ad(a.ad_id) == a
    assert second.revision() == first.revision()

"""Campaign snapshots as plain JSON, so ``feedmix ads simulate --snapshot FILE`` can replay a given set.

The file holds the model's own fields (:mod:`feedmix.ads.store.model`), three lists joined by ids::

    {"campaigns": [{"campaign_id": "c0", "advertiser_id": "adv0", "budget_micros": 50000000, ...}],
     "ad_groups": [{"ad_group_id": "g0", "campaign_id": "c0", "bid_kind": "cpc",
                    "bid_micros": 900000, "targeting": {"communities": ["funny"]}, ...}],
     "ads":       [{"ad_id": "a0", "ad_group_id": "g0", "headline": "...", ...}]}

Omitted optional fields take the dataclasses' defaults, lists become the tuples the model uses, and
an unknown field is an error (a typo in a budget must not silently run the default). Ad groups
without an ad, or ads of an unknown ad group, are errors too: a snapshot that cannot serve what it
says would make the simulated delivery meaningless.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from feedmix.ads.decision.targeting_index import Snapshot
from feedmix.ads.store.model import Ad, AdGroup, Campaign, FrequencyCap, Schedule, Targeting

T = TypeVar("T")


def snapshot_to_json(snapshot: Snapshot) -> dict[str, list[dict[str, Any]]]:
    """The snapshot as the JSON document :func:`snapshot_from_json` reads (campaigns once each)."""
    campaigns: dict[str, dict[str, Any]] = {}
    groups: list[dict[str, Any]] = []
    ads: list[dict[str, Any]] = []
    for campaign, group, group_ads in snapshot:
        campaigns.setdefault(campaign.campaign_id, dataclasses.asdict(campaign))
        groups.append(dataclasses.asdict(group))
        ads.extend(dataclasses.asdict(a) for a in group_ads)
    return {"campaigns": list(campaigns.values()), "ad_groups": groups, "ads": ads}


def _build(cls: type[T], raw: Mapping[str, Any], what: str) -> T:
    """``cls(**raw)`` with lists as tuples, and a clear error for unknown or missing fields."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{what}: expected an object, got {type(raw).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ValueError(f"{what}: unknown field(s) {unknown}")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"{what}: {exc}") from exc


def snapshot_from_json(doc: Any) -> list[tuple[Campaign, AdGroup, list[Ad]]]:
    """Parse a snapshot document (see the module docstring); raises ValueError on any inconsistency."""
    if not isinstance(doc, Mapping):
        raise ValueError("snapshot: expected an object with campaigns, ad_groups and ads")
    campaigns: dict[str, Campaign] = {}
    for i, raw in enumerate(_list(doc, "campaigns")):
        c = _build(Campaign, raw, f"campaigns[{i}]")
        campaigns[c.campaign_id] = c
    ads_of: dict[str, list[Ad]] = {}
    for i, raw in enumerate(_list(doc, "ads")):
        ad = _build(Ad, raw, f"ads[{i}]")
        ads_of.setdefault(ad.ad_group_id, []).append(ad)
    out: list[tuple[Campaign, AdGroup, list[Ad]]] = []
    for i, raw in enumerate(_list(doc, "ad_groups")):
        what = f"ad_groups[{i}]"
        fields = dict(raw) if isinstance(raw, Mapping) else raw
        if isinstance(fields, dict):
            for key, cls in (
                ("targeting", Targeting),
                ("frequency_cap", FrequencyCap),
                ("schedule", Schedule),
            ):
                if key in fields:
                    fields[key] = _build(cls, fields[key], f"{what}.{key}")
        group = _build(AdGroup, fields, what)
        campaign = campaigns.get(group.campaign_id)
        if campaign is None:
            raise ValueError(f"{what}: unknown campaign {group.campaign_id!r}")
        group_ads = ads_of.pop(group.ad_group_id, [])
        if not group_ads:
            raise ValueError(f"{what}: ad group {group.ad_group_id!r} has no ads")
        out.append((campaign, group, group_ads))
    if ads_of:
        raise ValueError(f"ads of unknown ad groups: {sorted(ads_of)[:5]}")
    if not out:
        raise ValueError("snapshot has no ad groups")
    return out


def _list(doc: Mapping[str, Any], key: str) -> Sequence[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"snapshot: {key} must be a list")
    return value

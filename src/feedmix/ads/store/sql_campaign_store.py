"""The campaign store in SQL (SQLAlchemy Core): one implementation for SQLite and PostgreSQL, with one
schema and one migration history (``feedmix.ads.store.migrations``), so the embedded default and the
shared server behave the same and the same contract tests run against both.

* SQLite: WAL journal, so the ad server's snapshot reads never wait for an advertiser's write, and
  write transactions take the write lock up front (see :mod:`feedmix.sql.engines`);
* PostgreSQL (psycopg 3): an optional schema keeps the tables apart, which is how the tests isolate a
  run and how two deployments can share one database.

``active_snapshot`` reads in two queries inside one read transaction; ``record_delivery`` is an
``INSERT ... ON CONFLICT DO UPDATE`` that adds. Open one with
:func:`feedmix.ads.store.backends.open_campaign_store`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from feedmix.ads.store import migrations
from feedmix.ads.store.campaign_store import (
    API_KEY_PREFIX,
    ActiveAdGroup,
    AdsSnapshot,
    Delivery,
    NotFound,
    ReportRow,
    check_delivery,
    hash_api_key,
    new_id,
)
from feedmix.ads.store.model import (
    Ad,
    AdGroup,
    Advertiser,
    Campaign,
    FrequencyCap,
    Schedule,
    Status,
    Targeting,
)
from feedmix.sql.engines import SqlTarget
from feedmix.sql.revisioned_store import RevisionedStore

# ---------------------------------------------------------------------------------------------------
# tables (the current schema; the migrations create it, a test checks the two agree)

_md = sa.MetaData()

advertisers_t = sa.Table(
    "ads_advertisers",
    _md,
    sa.Column("advertiser_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("api_key_hash", sa.Text, nullable=False, unique=True),
    sa.Column("created_ts", sa.Double, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
)
campaigns_t = sa.Table(
    "ads_campaigns",
    _md,
    sa.Column("campaign_id", sa.Text, primary_key=True),
    sa.Column("advertiser_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("objective", sa.Text, nullable=False),
    sa.Column("budget_kind", sa.Text, nullable=False),
    sa.Column("budget_micros", sa.BigInteger, nullable=False),
    sa.Column("start_ts", sa.Double, nullable=False),
    sa.Column("end_ts", sa.Double, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
)
ad_groups_t = sa.Table(
    "ads_ad_groups",
    _md,
    sa.Column("ad_group_id", sa.Text, primary_key=True),
    sa.Column("campaign_id", sa.Text, nullable=False),
    sa.Column("advertiser_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("bid_kind", sa.Text, nullable=False),
    sa.Column("bid_micros", sa.BigInteger, nullable=False),
    sa.Column("targeting", sa.Text, nullable=False),
    sa.Column("frequency_max_impressions", sa.BigInteger, nullable=False),
    sa.Column("frequency_window_s", sa.Double, nullable=False),
    sa.Column("safety_tier", sa.Text, nullable=False),
    sa.Column("schedule_hours", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
)
ads_t = sa.Table(
    "ads_ads",
    _md,
    sa.Column("ad_id", sa.Text, primary_key=True),
    sa.Column("ad_group_id", sa.Text, nullable=False),
    sa.Column("advertiser_id", sa.Text, nullable=False),
    sa.Column("headline", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("click_url", sa.Text, nullable=False),
    sa.Column("call_to_action", sa.Text, nullable=False),
    sa.Column("image_sha256", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
)
daily_stats_t = sa.Table(
    "ads_daily_stats",
    _md,
    sa.Column("campaign_id", sa.Text, primary_key=True),
    sa.Column("ad_group_id", sa.Text, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("impressions", sa.BigInteger, nullable=False),
    sa.Column("clicks", sa.BigInteger, nullable=False),
    sa.Column("spend_micros", sa.BigInteger, nullable=False),
)
revision_t = sa.Table(
    "ads_revision",
    _md,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
TABLES: tuple[sa.Table, ...] = (advertisers_t, campaigns_t, ad_groups_t, ads_t, daily_stats_t, revision_t)


# ---------------------------------------------------------------------------------------------------
# row <-> object


def _targeting_json(t: Targeting) -> str:
    return json.dumps(dataclasses.asdict(t), sort_keys=True, separators=(",", ":"))


def _targeting_from(text: str) -> Targeting:
    raw: dict[str, Any] = json.loads(text)
    fields = {f.name for f in dataclasses.fields(Targeting)}
    kw: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in raw.items() if k in fields}
    return Targeting(**kw)


def _advertiser(r: sa.Row[Any]) -> Advertiser:
    return Advertiser(advertiser_id=r.advertiser_id, name=r.name, status=r.status)


def _campaign(r: sa.Row[Any]) -> Campaign:
    return Campaign(
        campaign_id=r.campaign_id,
        advertiser_id=r.advertiser_id,
        name=r.name,
        objective=r.objective,
        budget_kind=r.budget_kind,
        budget_micros=int(r.budget_micros),
        start_ts=float(r.start_ts),
        end_ts=float(r.end_ts),
        status=r.status,
    )


def _ad_group(r: sa.Row[Any]) -> AdGroup:
    return AdGroup(
        ad_group_id=r.ad_group_id,
        campaign_id=r.campaign_id,
        name=r.name,
        bid_kind=r.bid_kind,
        bid_micros=int(r.bid_micros),
        targeting=_targeting_from(r.targeting),
        frequency_cap=FrequencyCap(int(r.frequency_max_impressions), float(r.frequency_window_s)),
        safety_tier=r.safety_tier,
        schedule=Schedule(tuple(json.loads(r.schedule_hours))),
        status=r.status,
    )


def _ad(r: sa.Row[Any]) -> Ad:
    return Ad(
        ad_id=r.ad_id,
        ad_group_id=r.ad_group_id,
        headline=r.headline,
        body=r.body,
        click_url=r.click_url,
        call_to_action=r.call_to_action,
        image_sha256=r.image_sha256,
        status=r.status,
    )


def _campaign_values(c: Campaign) -> dict[str, Any]:
    v = dataclasses.asdict(c)
    v.pop("campaign_id")
    v.pop("advertiser_id")
    return v


def _ad_group_values(g: AdGroup) -> dict[str, Any]:
    return {
        "name": g.name,
        "bid_kind": g.bid_kind,
        "bid_micros": g.bid_micros,
        "targeting": _targeting_json(g.targeting),
        "frequency_max_impressions": g.frequency_cap.max_impressions,
        "frequency_window_s": g.frequency_cap.window_s,
        "safety_tier": g.safety_tier,
        "schedule_hours": json.dumps(list(g.schedule.hours_of_week)),
        "status": g.status,
    }


def _ad_values(a: Ad) -> dict[str, Any]:
    v = dataclasses.asdict(a)
    v.pop("ad_id")
    v.pop("ad_group_id")
    return v


@dataclass(frozen=True)
class _ChildKind:
    """An object stored under a parent row (ad group under campaign, ad under ad group)."""

    table: sa.Table
    id_field: str
    parent_field: str
    parent_table: sa.Table
    values: Callable[[Any], dict[str, Any]]
    from_row: Callable[[Any], Any]

    @property
    def parent_key(self) -> sa.ColumnElement[Any]:
        return self.parent_table.c[self.parent_field]


_AD_GROUPS = _ChildKind(ad_groups_t, "ad_group_id", "campaign_id", campaigns_t, _ad_group_values, _ad_group)
_ADS = _ChildKind(ads_t, "ad_id", "ad_group_id", ad_groups_t, _ad_values, _ad)

# ---------------------------------------------------------------------------------------------------
# the SQL implementation


class SqlCampaignStore(RevisionedStore):
    """``CampaignStore`` over SQLAlchemy Core; thread-safe (a connection pool, one transaction per call)."""

    def __init__(self, target: SqlTarget, *, migrate: bool = True) -> None:
        super().__init__(target, migrations.HISTORY, revision_t, migrate=migrate)

    # -- advertisers -------------------------------------------------------------------------------

    def create_advertiser(self, name: str, status: Status = "active") -> tuple[Advertiser, str]:
        """A new advertiser and its API key: the only time the plaintext key is available."""
        advertiser = Advertiser(advertiser_id=new_id("adv"), name=name, status=status)
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        with self._write() as (conn, rev):
            conn.execute(
                advertisers_t.insert().values(
                    advertiser_id=advertiser.advertiser_id,
                    name=name,
                    status=status,
                    api_key_hash=hash_api_key(key),
                    created_ts=time.time(),
                    revision=rev,
                )
            )
        return advertiser, key

    def get_advertiser(self, advertiser_id: str) -> Advertiser | None:
        with self._read() as conn:
            row = conn.execute(
                sa.select(advertisers_t).where(advertisers_t.c.advertiser_id == advertiser_id)
            ).first()
        return _advertiser(row) if row else None

    def list_advertisers(self) -> list[Advertiser]:
        with self._read() as conn:
            rows = conn.execute(sa.select(advertisers_t).order_by(advertisers_t.c.created_ts)).all()
        return [_advertiser(r) for r in rows]

    def update_advertiser(self, advertiser: Advertiser) -> Advertiser:
        with self._write() as (conn, rev):
            res = conn.execute(
                advertisers_t.update()
                .where(advertisers_t.c.advertiser_id == advertiser.advertiser_id)
                .values(name=advertiser.name, status=advertiser.status, revision=rev)
            )
            if res.rowcount != 1:
                raise NotFound(advertiser.advertiser_id)
        return advertiser

    def advertiser_for_key(self, api_key: str) -> Advertiser | None:
        """The advertiser whose key this is, or None (the lookup is by hash, an indexed equality)."""
        if not api_key.startswith(API_KEY_PREFIX):
            return None
        with self._read() as conn:
            row = conn.execute(
                sa.select(advertisers_t).where(advertisers_t.c.api_key_hash == hash_api_key(api_key))
            ).first()
        return _advertiser(row) if row else None

    def rotate_api_key(self, advertiser_id: str) -> str:
        """A new key for the advertiser; the old one stops working at once."""
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        with self._write() as (conn, rev):
            res = conn.execute(
                advertisers_t.update()
                .where(advertisers_t.c.advertiser_id == advertiser_id)
                .values(api_key_hash=hash_api_key(key), revision=rev)
            )
            if res.rowcount != 1:
                raise NotFound(advertiser_id)
        return key

    # -- campaigns ---------------------------------------------------------------------------------

    def create_campaign(self, campaign: Campaign) -> Campaign:
        if not campaign.campaign_id:
            campaign = dataclasses.replace(campaign, campaign_id=new_id("cmp"))
        with self._write() as (conn, rev):
            owner = conn.execute(
                sa.select(advertisers_t.c.advertiser_id).where(
                    advertisers_t.c.advertiser_id == campaign.advertiser_id
                )
            ).first()
            if owner is None:
                raise NotFound(campaign.advertiser_id)
            conn.execute(
                campaigns_t.insert().values(
                    campaign_id=campaign.campaign_id,
                    advertiser_id=campaign.advertiser_id,
                    revision=rev,
                    **_campaign_values(campaign),
                )
            )
        return campaign

    def get_campaign(self, campaign_id: str, advertiser_id: str | None = None) -> Campaign | None:
        q = sa.select(campaigns_t).where(campaigns_t.c.campaign_id == campaign_id)
        if advertiser_id is not None:
            q = q.where(campaigns_t.c.advertiser_id == advertiser_id)
        with self._read() as conn:
            row = conn.execute(q).first()
        return _campaign(row) if row else None

    def list_campaigns(self, advertiser_id: str) -> list[Campaign]:
        q = (
            sa.select(campaigns_t)
            .where(campaigns_t.c.advertiser_id == advertiser_id)
            .order_by(campaigns_t.c.revision, campaigns_t.c.campaign_id)
        )
        with self._read() as conn:
            return [_campaign(r) for r in conn.execute(q)]

    def update_campaign(self, campaign: Campaign) -> Campaign:
        """Replace the campaign's fields; its id and advertiser never change (NotFound if they differ)."""
        with self._write() as (conn, rev):
            res = conn.execute(
                campaigns_t.update()
                .where(
                    campaigns_t.c.campaign_id == campaign.campaign_id,
                    campaigns_t.c.advertiser_id == campaign.advertiser_id,
                )
                .values(revision=rev, **_campaign_values(campaign))
            )
            if res.rowcount != 1:
                raise NotFound(campaign.campaign_id)
        return campaign

    # -- ad groups and ads: objects under a parent, owned through it --------------------------------

    def _create_child(self, kind: _ChildKind, obj: Any, advertiser_id: str | None) -> None:
        """Insert ``obj`` under its parent, which must exist (and be ``advertiser_id``'s, when given)."""
        parent_id = getattr(obj, kind.parent_field)
        with self._write() as (conn, rev):
            q = sa.select(kind.parent_table.c.advertiser_id).where(kind.parent_key == parent_id)
            if advertiser_id is not None:
                q = q.where(kind.parent_table.c.advertiser_id == advertiser_id)
            owner = conn.execute(q).scalar_one_or_none()
            if owner is None:
                raise NotFound(parent_id)
            conn.execute(
                kind.table.insert().values(
                    {
                        kind.id_field: getattr(obj, kind.id_field),
                        kind.parent_field: parent_id,
                        "advertiser_id": owner,
                        "revision": rev,
                        **kind.values(obj),
                    }
                )
            )

    def _get_child(self, kind: _ChildKind, obj_id: str, advertiser_id: str | None) -> Any:
        q = sa.select(kind.table).where(kind.table.c[kind.id_field] == obj_id)
        if advertiser_id is not None:
            q = q.where(kind.table.c.advertiser_id == advertiser_id)
        with self._read() as conn:
            row = conn.execute(q).first()
        return kind.from_row(row) if row else None

    def _list_children(self, kind: _ChildKind, advertiser_id: str, parent_id: str | None) -> list[Any]:
        q = sa.select(kind.table).where(kind.table.c.advertiser_id == advertiser_id)
        if parent_id is not None:
            q = q.where(kind.table.c[kind.parent_field] == parent_id)
        q = q.order_by(kind.table.c.revision, kind.table.c[kind.id_field])
        with self._read() as conn:
            return [kind.from_row(r) for r in conn.execute(q)]

    def _update_child(self, kind: _ChildKind, obj: Any, advertiser_id: str | None) -> None:
        """Replace the fields; the object stays under its parent (NotFound if the parent differs)."""
        obj_id = getattr(obj, kind.id_field)
        q = kind.table.update().where(
            kind.table.c[kind.id_field] == obj_id,
            kind.table.c[kind.parent_field] == getattr(obj, kind.parent_field),
        )
        if advertiser_id is not None:
            q = q.where(kind.table.c.advertiser_id == advertiser_id)
        with self._write() as (conn, rev):
            if conn.execute(q.values(revision=rev, **kind.values(obj))).rowcount != 1:
                raise NotFound(obj_id)

    def create_ad_group(self, ad_group: AdGroup, advertiser_id: str | None = None) -> AdGroup:
        """Add an ad group to its campaign (which must be ``advertiser_id``'s, when given)."""
        if not ad_group.ad_group_id:
            ad_group = dataclasses.replace(ad_group, ad_group_id=new_id("adg"))
        self._create_child(_AD_GROUPS, ad_group, advertiser_id)
        return ad_group

    def get_ad_group(self, ad_group_id: str, advertiser_id: str | None = None) -> AdGroup | None:
        found: AdGroup | None = self._get_child(_AD_GROUPS, ad_group_id, advertiser_id)
        return found

    def list_ad_groups(self, advertiser_id: str, campaign_id: str | None = None) -> list[AdGroup]:
        return self._list_children(_AD_GROUPS, advertiser_id, campaign_id)

    def update_ad_group(self, ad_group: AdGroup, advertiser_id: str | None = None) -> AdGroup:
        """Replace the ad group's fields; it stays in its campaign (NotFound if ``campaign_id`` differs)."""
        self._update_child(_AD_GROUPS, ad_group, advertiser_id)
        return ad_group

    def create_ad(self, ad: Ad, advertiser_id: str | None = None) -> Ad:
        """Add an ad to its ad group (which must be ``advertiser_id``'s, when given)."""
        if not ad.ad_id:
            ad = dataclasses.replace(ad, ad_id=new_id("ad"))
        self._create_child(_ADS, ad, advertiser_id)
        return ad

    def get_ad(self, ad_id: str, advertiser_id: str | None = None) -> Ad | None:
        found: Ad | None = self._get_child(_ADS, ad_id, advertiser_id)
        return found

    def list_ads(self, advertiser_id: str, ad_group_id: str | None = None) -> list[Ad]:
        return self._list_children(_ADS, advertiser_id, ad_group_id)

    def update_ad(self, ad: Ad, advertiser_id: str | None = None) -> Ad:
        """Replace the ad's fields; it stays in its ad group (NotFound if ``ad_group_id`` differs)."""
        self._update_child(_ADS, ad, advertiser_id)
        return ad

    # -- what the ad server reads ------------------------------------------------------------------

    def active_snapshot(self, now: float | None = None) -> AdsSnapshot:
        """Every ad group that may serve at ``now`` (default: the current time), with campaign and ads.

        Two queries in one consistent read (groups joined to campaigns and advertisers; their active
        ads), whatever the number of groups. Groups without an active ad are left out: they cannot
        serve. Order: by campaign, then ad group, then ad id, so two snapshots of the same revision
        are equal.
        """
        at = time.time() if now is None else float(now)
        serving = sa.and_(
            advertisers_t.c.status == "active",
            campaigns_t.c.status == "active",
            ad_groups_t.c.status == "active",
            campaigns_t.c.start_ts <= at,
            campaigns_t.c.end_ts > at,
        )
        joined = ad_groups_t.join(campaigns_t, campaigns_t.c.campaign_id == ad_groups_t.c.campaign_id).join(
            advertisers_t, advertisers_t.c.advertiser_id == campaigns_t.c.advertiser_id
        )
        group_cols = [c for c in ad_groups_t.c if c.name not in ("advertiser_id", "revision")]
        camp_cols = [c.label(f"c_{c.name}") for c in campaigns_t.c]
        groups_q = (
            sa.select(*group_cols, *camp_cols)
            .select_from(joined)
            .where(serving)
            .order_by(ad_groups_t.c.campaign_id, ad_groups_t.c.ad_group_id)
        )
        ads_q = (
            sa.select(ads_t)
            .select_from(ads_t.join(joined, ads_t.c.ad_group_id == ad_groups_t.c.ad_group_id))
            .where(serving, ads_t.c.status == "active")
            .order_by(ads_t.c.ad_group_id, ads_t.c.ad_id)
        )
        with self._read(consistent=True) as conn:
            rev = int(conn.execute(sa.select(revision_t.c.value).where(revision_t.c.id == 1)).scalar_one())
            group_rows = conn.execute(groups_q).all()
            ad_rows = conn.execute(ads_q).all()
        ads_by_group: dict[str, list[Ad]] = {}
        for r in ad_rows:
            ads_by_group.setdefault(r.ad_group_id, []).append(_ad(r))
        groups: list[ActiveAdGroup] = []
        campaigns: dict[str, Campaign] = {}
        for r in group_rows:
            group_ads = ads_by_group.get(r.ad_group_id)
            if not group_ads:
                continue
            m = r._mapping
            campaign = campaigns.get(r.campaign_id)
            if campaign is None:
                campaign = _campaign(_Attrs({c.name: m[f"c_{c.name}"] for c in campaigns_t.c}))  # type: ignore[arg-type]
                campaigns[r.campaign_id] = campaign
            groups.append(ActiveAdGroup(campaign=campaign, ad_group=_ad_group(r), ads=tuple(group_ads)))
        return AdsSnapshot(revision=rev, now=at, groups=tuple(groups))

    # -- delivery ----------------------------------------------------------------------------------

    def record_delivery(
        self,
        campaign_id: str,
        ad_group_id: str,
        day: dt.date,
        impressions: int = 0,
        clicks: int = 0,
        spend_micros: int = 0,
    ) -> None:
        """Add delivery to one ad group's aggregates of one UTC day (an atomic upsert that adds)."""
        self.record_deliveries([Delivery(campaign_id, ad_group_id, day, impressions, clicks, spend_micros)])

    def record_deliveries(self, deliveries: Iterable[Delivery]) -> None:
        """Add a batch of deliveries in one transaction: all are counted, or none (on an error).

        Each row is ``INSERT ... ON CONFLICT (campaign_id, ad_group_id, day) DO UPDATE SET x = x +
        excluded.x``: the database adds under its row lock, so no increment is lost to a concurrent
        writer, in this process or another. Rows for the same key within a batch are merged first.
        Negative amounts are refused (``ValueError``): corrections are not deliveries.
        """
        merged: dict[tuple[str, str, dt.date], list[int]] = {}
        for d in deliveries:
            check_delivery(d)
            acc = merged.setdefault((d.campaign_id, d.ad_group_id, d.day), [0, 0, 0])
            acc[0] += d.impressions
            acc[1] += d.clicks
            acc[2] += d.spend_micros
        if not merged:
            return
        rows = [
            {"campaign_id": c, "ad_group_id": g, "day": day, "impressions": i, "clicks": k, "spend_micros": s}
            for (c, g, day), (i, k, s) in sorted(merged.items())  # sorted: same lock order everywhere
        ]
        self._add(
            daily_stats_t,
            ("campaign_id", "ad_group_id", "day"),
            ("impressions", "clicks", "spend_micros"),
            rows,
        )

    def report(
        self, advertiser_id: str, start_day: dt.date, end_day: dt.date, campaign_id: str | None = None
    ) -> list[ReportRow]:
        """Per campaign and day, ``start_day`` to ``end_day`` inclusive, of ``advertiser_id``'s campaigns.

        Only days with delivery have rows (a sparse report: the client fills the gaps), ordered by
        day, then campaign.
        """
        q = (
            sa.select(
                daily_stats_t.c.campaign_id,
                daily_stats_t.c.day,
                sa.func.sum(daily_stats_t.c.impressions).label("impressions"),
                sa.func.sum(daily_stats_t.c.clicks).label("clicks"),
                sa.func.sum(daily_stats_t.c.spend_micros).label("spend_micros"),
            )
            .select_from(
                daily_stats_t.join(campaigns_t, campaigns_t.c.campaign_id == daily_stats_t.c.campaign_id)
            )
            .where(
                campaigns_t.c.advertiser_id == advertiser_id,
                daily_stats_t.c.day >= start_day,
                daily_stats_t.c.day <= end_day,
            )
            .group_by(daily_stats_t.c.campaign_id, daily_stats_t.c.day)
            .order_by(daily_stats_t.c.day, daily_stats_t.c.campaign_id)
        )
        if campaign_id is not None:
            q = q.where(daily_stats_t.c.campaign_id == campaign_id)
        with self._read() as conn:
            rows = conn.execute(q).all()
        return [
            ReportRow(
                campaign_id=r.campaign_id,
                day=_as_date(r.day),
                impressions=int(r.impressions),
                clicks=int(r.clicks),
                spend_micros=int(r.spend_micros),
            )
            for r in rows
        ]

    def spend_micros(self, campaign_id: str, start_day: dt.date, end_day: dt.date) -> int:
        """A campaign's spend over the days, inclusive (pacing and lifetime budgets read it)."""
        q = sa.select(sa.func.coalesce(sa.func.sum(daily_stats_t.c.spend_micros), 0)).where(
            daily_stats_t.c.campaign_id == campaign_id,
            daily_stats_t.c.day >= start_day,
            daily_stats_t.c.day <= end_day,
        )
        with self._read() as conn:
            return int(conn.execute(q).scalar_one())


# ---------------------------------------------------------------------------------------------------
# helpers


class _Attrs:
    """Attribute access over a dict, so the row mappers also read labelled columns."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))

"""The advertiser REST API: campaigns, ad groups, ads, creative assets and reports, under ``/v1/ads/``.

Every advertiser has an API key (``Authorization: Bearer <key>``) and sees and changes only its own
objects: another advertiser's id answers 404, exactly like an id that does not exist, so ids cannot
be probed. Advertisers are created by an operator with the admin token (``POST /v1/ads/advertisers``;
the token comes from ``admin_token`` or ``$FEEDMIX_ADS_ADMIN_TOKEN``; with neither, that route is
off), and the response carries the advertiser's key, the only time it is shown.

Validation errors are FastAPI's usual 422 with ``loc`` naming the field (``["body", "end_ts"]``,
``["body", "targeting", "communities", 0]``), including the checks that need the platform's state:
unknown communities, bids under the floor, unknown image hashes. A PATCH is validated as the merged
object, so a new ``end_ts`` before the stored ``start_ts`` is refused the same way.

Money is in integer micros (1 USD = 1,000,000), as in ``feedmix.ads.store.model``; times are Unix seconds;
report days are UTC ``YYYY-MM-DD``.

Assets are uploaded as the raw request body (``curl --data-binary @ad.png -H 'Content-Type:
image/png'``; the type is sniffed from the bytes anyway), which needs no multipart parser, and are
served publicly at ``/v1/assets/<sha256>`` with an ``ETag`` and ``Cache-Control: immutable``.

The lead mounts it with ``mount_advertiser_api(app, ...)``
(or ``app.include_router(advertiser_router(...))``).
"""

# no ``from __future__ import annotations``: FastAPI resolves the route annotations at runtime, and
# they name dependencies local to ``advertiser_router`` (the bearer scheme, ``Me``)

import dataclasses
import datetime as dt
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from feedmix.ads.store.asset_store import AssetRejected, AssetStore, AssetTooLarge, is_sha256
from feedmix.ads.store.campaign_store import CampaignStore, NotFound, ReportRow, totals
from feedmix.ads.store.model import (
    MICROS,
    Ad,
    AdGroup,
    Advertiser,
    BidKind,
    BudgetKind,
    Campaign,
    Device,
    FrequencyCap,
    Objective,
    SafetyTier,
    Schedule,
    Status,
    Targeting,
)
from feedmix.signals.codebook import CATEGORIES, INTENTS

ADMIN_TOKEN_ENV = "FEEDMIX_ADS_ADMIN_TOKEN"
MAX_REPORT_DAYS = 366


@dataclass(frozen=True)
class BidFloors:
    """The lowest bids accepted, in micros: USD 0.10 per click, USD 1.00 per thousand impressions.

    A floor keeps the auction from clearing at prices that do not pay for the slot's attention.
    """

    cpc_micros: int = MICROS // 10
    cpm_micros: int = MICROS

    def for_kind(self, kind: BidKind) -> int:
        return self.cpc_micros if kind == "cpc" else self.cpm_micros


# ---------------------------------------------------------------------------------------------------
# request and response models


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL")
    if any(c.isspace() for c in value):
        raise ValueError("must not contain whitespace")
    return value


def _finite_ts(value: float) -> float:
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("must be a finite Unix time in seconds")
    return value


Name = Annotated[str, Field(min_length=1, max_length=200)]
PositiveMicros = Annotated[int, Field(gt=0, description="micros: 1 USD = 1,000,000")]
UnixTs = Annotated[float, Field(ge=0), AfterValidator(_finite_ts)]
Term = Annotated[str, Field(min_length=1, max_length=100)]
Geo = Annotated[
    str, Field(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$", description="ISO 3166 code, e.g. US or US-CA")
]
Headline = Annotated[str, Field(min_length=1, max_length=90)]
Body = Annotated[str, Field(max_length=500)]
CallToAction = Annotated[str, Field(min_length=1, max_length=30)]
ClickUrl = Annotated[str, Field(min_length=1, max_length=2048), AfterValidator(_http_url)]
ImageHash = Annotated[
    str, Field(pattern=r"^([0-9a-f]{64})?$", description="sha256 of an uploaded asset, or ''")
]
HourOfWeek = Annotated[int, Field(ge=0, le=167)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CampaignIn(_Strict):
    name: Name
    objective: Objective = "traffic"
    budget_kind: BudgetKind = "daily"
    budget_micros: PositiveMicros
    start_ts: UnixTs
    end_ts: UnixTs
    status: Status = "active"

    @field_validator("end_ts")
    @classmethod
    def _end_after_start(cls, end: float, info: Any) -> float:
        start = info.data.get("start_ts")
        if start is not None and end <= start:
            raise ValueError("end_ts must be after start_ts")
        return end


class CampaignPatch(_Strict):
    name: Name | None = None
    objective: Objective | None = None
    budget_kind: BudgetKind | None = None
    budget_micros: PositiveMicros | None = None
    start_ts: UnixTs | None = None
    end_ts: UnixTs | None = None
    status: Status | None = None


class TargetingIn(_Strict):
    communities: list[Term] = Field(default_factory=list, max_length=500)
    interests: list[Term] = Field(default_factory=list, max_length=500)
    keywords: list[Term] = Field(default_factory=list, max_length=500)
    geos: list[Geo] = Field(default_factory=list, max_length=500)
    devices: list[Device] = Field(default_factory=list)
    exclude_communities: list[Term] = Field(default_factory=list, max_length=500)
    exclude_keywords: list[Term] = Field(default_factory=list, max_length=500)
    exclude_nsfw: bool = True
    intents: list[Term] = Field(
        default_factory=list, max_length=6, description="page intents (codebook: review, question, ...)"
    )
    categories: list[Term] = Field(
        default_factory=list, max_length=16, description="product categories (the codebook's 16 names)"
    )
    products: list[Term] = Field(
        default_factory=list, max_length=500, description="products or brands the page mentions"
    )


class FrequencyCapIn(_Strict):
    max_impressions: int = Field(default=0, ge=0, description="0: no cap")
    window_s: float = Field(default=86_400.0, gt=0, le=90 * 86_400)


class AdGroupIn(_Strict):
    campaign_id: str
    name: Name
    bid_kind: BidKind
    bid_micros: PositiveMicros
    targeting: TargetingIn = Field(default_factory=TargetingIn)
    frequency_cap: FrequencyCapIn = Field(default_factory=FrequencyCapIn)
    safety_tier: SafetyTier = "standard"
    schedule_hours_of_week: list[HourOfWeek] = Field(default_factory=list, description="UTC; empty: always")
    status: Status = "active"


class AdGroupPatch(_Strict):
    name: Name | None = None
    bid_kind: BidKind | None = None
    bid_micros: PositiveMicros | None = None
    targeting: TargetingIn | None = None
    frequency_cap: FrequencyCapIn | None = None
    safety_tier: SafetyTier | None = None
    schedule_hours_of_week: list[HourOfWeek] | None = None
    status: Status | None = None


class AdIn(_Strict):
    ad_group_id: str
    headline: Headline
    body: Body = ""
    click_url: ClickUrl
    call_to_action: CallToAction = "Learn more"
    image_sha256: ImageHash = ""
    status: Status = "active"


class AdPatch(_Strict):
    headline: Headline | None = None
    body: Body | None = None
    click_url: ClickUrl | None = None
    call_to_action: CallToAction | None = None
    image_sha256: ImageHash | None = None
    status: Status | None = None


class AdvertiserIn(_Strict):
    name: Name


class AdvertiserOut(BaseModel):
    advertiser_id: str
    name: str
    status: Status


class AdvertiserCreated(AdvertiserOut):
    api_key: str = Field(description="shown once: only its hash is stored")


class CampaignOut(BaseModel):
    campaign_id: str
    advertiser_id: str
    name: str
    objective: Objective
    budget_kind: BudgetKind
    budget_micros: int
    start_ts: float
    end_ts: float
    status: Status


class AdGroupOut(BaseModel):
    ad_group_id: str
    campaign_id: str
    name: str
    bid_kind: BidKind
    bid_micros: int
    targeting: TargetingIn
    frequency_cap: FrequencyCapIn
    safety_tier: SafetyTier
    schedule_hours_of_week: list[int]
    status: Status


class AdOut(BaseModel):
    ad_id: str
    ad_group_id: str
    headline: str
    body: str
    click_url: str
    call_to_action: str
    image_sha256: str
    image_url: str | None
    status: Status


class CampaignList(BaseModel):
    campaigns: list[CampaignOut]


class AdGroupList(BaseModel):
    ad_groups: list[AdGroupOut]


class AdList(BaseModel):
    ads: list[AdOut]


class AssetOut(BaseModel):
    sha256: str
    url: str
    content_type: str
    size: int


class ReportRowOut(BaseModel):
    campaign_id: str
    day: dt.date | None
    impressions: int
    clicks: int
    spend_micros: int
    ctr: float | None = Field(description="clicks / impressions; null without impressions")
    cpc_micros: int | None = Field(description="spend / clicks; null without clicks")
    ecpm_micros: int | None = Field(description="spend per 1,000 impressions; null without impressions")


class ReportOut(BaseModel):
    start: dt.date
    end: dt.date
    rows: list[ReportRowOut]
    totals: list[ReportRowOut]


def asset_url(sha256: str) -> str:
    return f"/v1/assets/{sha256}"


def _campaign_out(c: Campaign) -> CampaignOut:
    return CampaignOut(**dataclasses.asdict(c))


def _ad_group_out(g: AdGroup) -> AdGroupOut:
    t: dict[str, Any] = {
        k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(g.targeting).items()
    }
    return AdGroupOut(
        ad_group_id=g.ad_group_id,
        campaign_id=g.campaign_id,
        name=g.name,
        bid_kind=g.bid_kind,
        bid_micros=g.bid_micros,
        targeting=TargetingIn.model_construct(None, **t),
        frequency_cap=FrequencyCapIn.model_construct(None, **dataclasses.asdict(g.frequency_cap)),
        safety_tier=g.safety_tier,
        schedule_hours_of_week=list(g.schedule.hours_of_week),
        status=g.status,
    )


def _ad_out(a: Ad) -> AdOut:
    return AdOut(**dataclasses.asdict(a), image_url=asset_url(a.image_sha256) if a.image_sha256 else None)


def _report_out(r: ReportRow) -> ReportRowOut:
    return ReportRowOut(
        campaign_id=r.campaign_id,
        day=r.day,
        impressions=r.impressions,
        clicks=r.clicks,
        spend_micros=r.spend_micros,
        ctr=r.ctr,
        cpc_micros=r.cpc_micros,
        ecpm_micros=r.ecpm_micros,
    )


# ---------------------------------------------------------------------------------------------------
# validation helpers

M = TypeVar("M", bound=BaseModel)


def _invalid(
    loc: tuple[str | int, ...], msg: str, value: Any, kind: str = "value_error"
) -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": ("body", *loc), "msg": msg, "input": value}])


def _merge(model: type[M], current: dict[str, Any], patch: BaseModel) -> M:
    """Validate ``current`` overlaid with the fields the PATCH set, as ``model``; 422 naming the field."""
    merged = {**current, **patch.model_dump(exclude_unset=True)}
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


# ---------------------------------------------------------------------------------------------------
# the router


def advertiser_router(
    store: CampaignStore,
    assets: AssetStore,
    known_communities: Callable[[str], bool],
    floors: BidFloors | None = None,
    *,
    admin_token: str | None = None,
) -> APIRouter:
    """The advertiser API over ``store`` and ``assets``.

    ``known_communities(name)`` says whether a community exists (targeting an unknown one is a 422:
    it would silently never serve). ``floors`` are the minimum bids (default ``BidFloors()``).
    ``admin_token`` (default ``$FEEDMIX_ADS_ADMIN_TOKEN``) authorizes creating advertisers.
    """
    floors = floors or BidFloors()
    admin = admin_token if admin_token is not None else os.environ.get(ADMIN_TOKEN_ENV, "")
    bearer = HTTPBearer(auto_error=False, description="the advertiser's API key (or the admin token)")
    router = APIRouter(tags=["ads"])

    def _token(creds: HTTPAuthorizationCredentials | None) -> str:
        if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        return creds.credentials

    def current_advertiser(
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Advertiser:
        advertiser = store.advertiser_for_key(_token(creds))
        if advertiser is None:
            raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
        return advertiser

    def require_admin(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        token = _token(creds)
        if not admin:
            raise HTTPException(403, f"the admin API is off (set {ADMIN_TOKEN_ENV})")
        if not secrets.compare_digest(token.encode(), admin.encode()):
            raise HTTPException(401, "wrong admin token", headers={"WWW-Authenticate": "Bearer"})

    Me = Annotated[Advertiser, Depends(current_advertiser)]

    def check_targeting(t: TargetingIn) -> None:
        for field_name in ("communities", "exclude_communities"):
            for i, name in enumerate(getattr(t, field_name)):
                if not known_communities(name):
                    raise _invalid(("targeting", field_name, i), f"unknown community {name!r}", name)
        for field_name, allowed in (("intents", INTENTS), ("categories", CATEGORIES)):
            for i, name in enumerate(getattr(t, field_name)):
                if name not in allowed:
                    where = ("targeting", field_name, i)
                    raise _invalid(where, f"{name!r} is not one of {list(allowed)}", name)

    def check_bid(kind: BidKind, bid: int) -> None:
        floor = floors.for_kind(kind)
        if bid < floor:
            raise _invalid(
                ("bid_micros",),
                f"{kind} bid {bid} micros is below the floor of {floor} micros (USD {floor / MICROS:.2f})",
                bid,
                "bid_below_floor",
            )

    def check_image(sha: str) -> None:
        if sha and not assets.exists(sha):
            raise _invalid(("image_sha256",), "no uploaded asset has this hash (upload it first)", sha)

    # -- advertisers -------------------------------------------------------------------------------

    @router.post(
        "/v1/ads/advertisers",
        status_code=201,
        response_model=AdvertiserCreated,
        dependencies=[Depends(require_admin)],
        summary="Create an advertiser (admin token); returns its API key once",
    )
    def create_advertiser(body: AdvertiserIn) -> AdvertiserCreated:
        advertiser, key = store.create_advertiser(body.name)
        return AdvertiserCreated(**dataclasses.asdict(advertiser), api_key=key)

    @router.get("/v1/ads/advertiser", response_model=AdvertiserOut, summary="The advertiser of the key")
    def me(advertiser: Me) -> AdvertiserOut:
        return AdvertiserOut(**dataclasses.asdict(advertiser))

    # -- campaigns ---------------------------------------------------------------------------------

    def own_campaign(campaign_id: str, advertiser: Advertiser) -> Campaign:
        campaign = store.get_campaign(campaign_id, advertiser.advertiser_id)
        if campaign is None:
            raise HTTPException(404, f"no campaign {campaign_id!r}")
        return campaign

    @router.get("/v1/ads/campaigns", response_model=CampaignList)
    def list_campaigns(advertiser: Me) -> CampaignList:
        return CampaignList(
            campaigns=[_campaign_out(c) for c in store.list_campaigns(advertiser.advertiser_id)]
        )

    @router.post("/v1/ads/campaigns", status_code=201, response_model=CampaignOut)
    def create_campaign(body: CampaignIn, advertiser: Me) -> CampaignOut:
        campaign = Campaign(campaign_id="", advertiser_id=advertiser.advertiser_id, **body.model_dump())
        return _campaign_out(store.create_campaign(campaign))

    @router.get("/v1/ads/campaigns/{campaign_id}", response_model=CampaignOut)
    def get_campaign(campaign_id: str, advertiser: Me) -> CampaignOut:
        return _campaign_out(own_campaign(campaign_id, advertiser))

    @router.patch("/v1/ads/campaigns/{campaign_id}", response_model=CampaignOut)
    def patch_campaign(campaign_id: str, body: CampaignPatch, advertiser: Me) -> CampaignOut:
        current = own_campaign(campaign_id, advertiser)
        fields = dataclasses.asdict(current)
        ids = {k: fields.pop(k) for k in ("campaign_id", "advertiser_id")}
        merged = _merge(CampaignIn, fields, body)
        try:
            return _campaign_out(store.update_campaign(Campaign(**ids, **merged.model_dump())))
        except NotFound:
            raise HTTPException(404, f"no campaign {campaign_id!r}") from None

    # -- ad groups ---------------------------------------------------------------------------------

    def own_ad_group(ad_group_id: str, advertiser: Advertiser) -> AdGroup:
        group = store.get_ad_group(ad_group_id, advertiser.advertiser_id)
        if group is None:
            raise HTTPException(404, f"no ad group {ad_group_id!r}")
        return group

    def to_ad_group(ad_group_id: str, body: AdGroupIn) -> AdGroup:
        check_bid(body.bid_kind, body.bid_micros)
        check_targeting(body.targeting)
        t = body.targeting
        return AdGroup(
            ad_group_id=ad_group_id,
            campaign_id=body.campaign_id,
            name=body.name,
            bid_kind=body.bid_kind,
            bid_micros=body.bid_micros,
            targeting=Targeting(
                communities=tuple(t.communities),
                interests=tuple(t.interests),
                keywords=tuple(k.lower() for k in t.keywords),
                geos=tuple(t.geos),
                devices=tuple(t.devices),
                exclude_communities=tuple(t.exclude_communities),
                exclude_keywords=tuple(k.lower() for k in t.exclude_keywords),
                exclude_nsfw=t.exclude_nsfw,
                intents=tuple(t.intents),
                categories=tuple(t.categories),
                products=tuple(" ".join(p.lower().split()) for p in t.products),
            ),
            frequency_cap=FrequencyCap(body.frequency_cap.max_impressions, body.frequency_cap.window_s),
            safety_tier=body.safety_tier,
            schedule=Schedule(tuple(sorted(set(body.schedule_hours_of_week)))),
            status=body.status,
        )

    @router.get("/v1/ads/ad-groups", response_model=AdGroupList)
    def list_ad_groups(advertiser: Me, campaign_id: str | None = None) -> AdGroupList:
        groups = store.list_ad_groups(advertiser.advertiser_id, campaign_id)
        return AdGroupList(ad_groups=[_ad_group_out(g) for g in groups])

    @router.post("/v1/ads/ad-groups", status_code=201, response_model=AdGroupOut)
    def create_ad_group(body: AdGroupIn, advertiser: Me) -> AdGroupOut:
        if store.get_campaign(body.campaign_id, advertiser.advertiser_id) is None:
            raise _invalid(("campaign_id",), "no such campaign", body.campaign_id)
        try:
            return _ad_group_out(store.create_ad_group(to_ad_group("", body), advertiser.advertiser_id))
        except NotFound:
            raise _invalid(("campaign_id",), "no such campaign", body.campaign_id) from None

    @router.get("/v1/ads/ad-groups/{ad_group_id}", response_model=AdGroupOut)
    def get_ad_group(ad_group_id: str, advertiser: Me) -> AdGroupOut:
        return _ad_group_out(own_ad_group(ad_group_id, advertiser))

    @router.patch("/v1/ads/ad-groups/{ad_group_id}", response_model=AdGroupOut)
    def patch_ad_group(ad_group_id: str, body: AdGroupPatch, advertiser: Me) -> AdGroupOut:
        current = _ad_group_out(own_ad_group(ad_group_id, advertiser)).model_dump()
        current.pop("ad_group_id")
        merged = _merge(AdGroupIn, current, body)
        try:
            updated = store.update_ad_group(to_ad_group(ad_group_id, merged), advertiser.advertiser_id)
        except NotFound:
            raise HTTPException(404, f"no ad group {ad_group_id!r}") from None
        return _ad_group_out(updated)

    # -- ads ---------------------------------------------------------------------------------------

    def own_ad(ad_id: str, advertiser: Advertiser) -> Ad:
        ad = store.get_ad(ad_id, advertiser.advertiser_id)
        if ad is None:
            raise HTTPException(404, f"no ad {ad_id!r}")
        return ad

    @router.get("/v1/ads/ads", response_model=AdList)
    def list_ads(advertiser: Me, ad_group_id: str | None = None) -> AdList:
        return AdList(ads=[_ad_out(a) for a in store.list_ads(advertiser.advertiser_id, ad_group_id)])

    @router.post("/v1/ads/ads", status_code=201, response_model=AdOut)
    def create_ad(body: AdIn, advertiser: Me) -> AdOut:
        if store.get_ad_group(body.ad_group_id, advertiser.advertiser_id) is None:
            raise _invalid(("ad_group_id",), "no such ad group", body.ad_group_id)
        check_image(body.image_sha256)
        try:
            ad = store.create_ad(Ad(ad_id="", **body.model_dump()), advertiser.advertiser_id)
        except NotFound:
            raise _invalid(("ad_group_id",), "no such ad group", body.ad_group_id) from None
        return _ad_out(ad)

    @router.get("/v1/ads/ads/{ad_id}", response_model=AdOut)
    def get_ad(ad_id: str, advertiser: Me) -> AdOut:
        return _ad_out(own_ad(ad_id, advertiser))

    @router.patch("/v1/ads/ads/{ad_id}", response_model=AdOut)
    def patch_ad(ad_id: str, body: AdPatch, advertiser: Me) -> AdOut:
        current = dataclasses.asdict(own_ad(ad_id, advertiser))
        current.pop("ad_id")
        merged = _merge(AdIn, current, body)
        if "image_sha256" in body.model_fields_set:
            check_image(merged.image_sha256)
        try:
            ad = store.update_ad(Ad(ad_id=ad_id, **merged.model_dump()), advertiser.advertiser_id)
        except NotFound:
            raise HTTPException(404, f"no ad {ad_id!r}") from None
        return _ad_out(ad)

    # -- assets ------------------------------------------------------------------------------------

    @router.post(
        "/v1/ads/assets",
        status_code=201,
        response_model=AssetOut,
        summary="Upload an image (raw body; PNG, JPEG, GIF or WebP, sniffed from the bytes)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            }
        },
    )
    async def upload_asset(request: Request, advertiser: Me) -> AssetOut:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > assets.max_bytes:
            raise HTTPException(413, f"asset is larger than the limit of {assets.max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > assets.max_bytes:
                raise HTTPException(413, f"asset is larger than the limit of {assets.max_bytes} bytes")
            chunks.append(chunk)
        try:
            stored = await run_in_threadpool(assets.put, b"".join(chunks))
        except AssetTooLarge as exc:  # pragma: no cover - caught while streaming
            raise HTTPException(413, str(exc)) from None
        except AssetRejected as exc:
            raise HTTPException(exc.status, str(exc)) from None
        return AssetOut(
            sha256=stored.sha256,
            url=asset_url(stored.sha256),
            content_type=stored.content_type,
            size=stored.size,
        )

    @router.get(
        "/v1/assets/{sha256}",
        summary="A creative image (public, immutable; 304 on a matching If-None-Match)",
        responses={200: {"content": {"image/*": {}}}, 304: {"description": "not modified"}, 404: {}},
    )
    def get_asset(sha256: str, if_none_match: Annotated[str | None, Header()] = None) -> Response:
        if not is_sha256(sha256):
            raise HTTPException(404, "no such asset")
        etag = f'"{sha256}"'
        headers = {
            "ETag": etag,
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        }
        if if_none_match and _etag_matches(if_none_match, etag) and assets.exists(sha256):
            return Response(status_code=304, headers=headers)
        found = assets.get(sha256)
        if found is None:
            raise HTTPException(404, "no such asset")
        data, content_type = found
        return Response(content=data, media_type=content_type, headers=headers)

    # -- reports -----------------------------------------------------------------------------------

    @router.get("/v1/ads/reports", response_model=ReportOut, summary="Delivery per campaign and UTC day")
    def report(
        advertiser: Me,
        start: Annotated[dt.date, Query(description="first day, YYYY-MM-DD (UTC)")],
        end: Annotated[dt.date, Query(description="last day, inclusive")],
        campaign_id: str | None = None,
    ) -> ReportOut:
        if end < start:
            raise RequestValidationError(
                [
                    {
                        "type": "value_error",
                        "loc": ("query", "end"),
                        "msg": "end is before start",
                        "input": str(end),
                    }
                ]
            )
        if (end - start).days >= MAX_REPORT_DAYS:
            raise RequestValidationError(
                [
                    {
                        "type": "value_error",
                        "loc": ("query", "end"),
                        "msg": f"a report covers at most {MAX_REPORT_DAYS} days",
                        "input": str(end),
                    }
                ]
            )
        if campaign_id is not None:
            own_campaign(campaign_id, advertiser)
        rows = store.report(advertiser.advertiser_id, start, end, campaign_id)
        return ReportOut(
            start=start,
            end=end,
            rows=[_report_out(r) for r in rows],
            totals=[_report_out(r) for r in totals(rows)],
        )

    return router


def _etag_matches(header: str, etag: str) -> bool:
    """RFC 9110 weak comparison for If-None-Match: ``*`` or any listed tag, ``W/`` ignored."""
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def mount_advertiser_api(
    app: FastAPI,
    store: CampaignStore,
    assets: AssetStore,
    known_communities: Callable[[str], bool],
    floors: BidFloors | None = None,
    *,
    admin_token: str | None = None,
) -> None:
    """Add the advertiser API to ``app`` (what the serving app calls at startup)."""
    app.include_router(advertiser_router(store, assets, known_communities, floors, admin_token=admin_token))

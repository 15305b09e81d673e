"""``GET /v1/ads/explain``: why one of *my* ad groups would or would not serve on a given page.

Advertisers ask "why is my ad not showing?". The answer is the serving state itself, read from the
running ad server rather than recomputed from the store: the targeting index's rule-by-rule
reasons for a page described by the query (communities, keywords, geo, device), the user's
frequency-cap state, and the campaign's pacing and daily budget state. The auction is not
explained: it depends on one request's competition, and ``/v1/feed?debug=true`` shows it.

Auth is the advertiser API's: ``Authorization: Bearer <key>``, looked up with
``CampaignStore.advertiser_for_key``. An ad group of another advertiser answers 404, exactly like
one that does not exist, so ids cannot be probed across advertisers.

Everything read here is cheap (one frequency-store read, in-memory arrays); if the frequency store
is down the answer says so (``degraded``) instead of failing, since the rest is still useful.
"""

# no ``from __future__ import annotations``: FastAPI resolves the route's annotations at runtime, and
# the auth dependency is a closure local that a string annotation could not name

import time
from typing import Annotated, Any

import numpy as np
import redis
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from feedmix.ads.ads_runtime import AdsRuntime
from feedmix.ads.decision.targeting_index import AdRequest
from feedmix.ads.pctr.pctr_model import PctrModel
from feedmix.ads.store.campaign_store import CampaignStore
from feedmix.ads.store.model import Advertiser
from feedmix.stores.errors import StoreUnavailable


def _split(values: list[str] | None) -> tuple[str, ...]:
    """Repeated and comma-separated query values, in order, without blanks or duplicates."""
    out: dict[str, None] = {}
    for value in values or []:
        for part in value.split(","):
            if part.strip():
                out.setdefault(part.strip(), None)
    return tuple(out)


def explain_router(runtime_ads: AdsRuntime | None, store: CampaignStore) -> APIRouter:
    """The explain endpoint over a running ads runtime (``None``: ads disabled, every call 404s)."""
    bearer = HTTPBearer(auto_error=False, description="the advertiser's API key")
    router = APIRouter(tags=["ads"])

    def current_advertiser(
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Advertiser:
        if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        advertiser = store.advertiser_for_key(creds.credentials)
        if advertiser is None:
            raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
        return advertiser

    @router.get("/v1/ads/explain")
    def explain(
        advertiser: Annotated[Advertiser, Depends(current_advertiser)],
        ad_group_id: Annotated[str, Query(min_length=1, max_length=64)],
        user_id: Annotated[str, Query(min_length=1, max_length=128)] = "anonymous",
        community: Annotated[
            list[str] | None, Query(description="page communities (repeat or comma-separate)")
        ] = None,
        keywords: Annotated[str, Query(description="page title keywords, comma-separated")] = "",
        geo: str = "",
        device: str = "",
        interests: Annotated[str, Query(description="user interests, comma-separated")] = "",
        nsfw_community: bool = False,
        intents: Annotated[str, Query(description="page intents (content signals), comma-separated")] = "",
        category: Annotated[
            list[str] | None, Query(description="page product categories (repeat; names contain commas)")
        ] = None,
        products: Annotated[
            str, Query(description="products/brands the page mentions, comma-separated")
        ] = "",
        brand_safety: Annotated[str, Query(pattern="^(safe|unrated|unsafe)$")] = "unrated",
        at: Annotated[float | None, Query(description="unix time to explain at (default: now)")] = None,
    ) -> dict[str, Any]:
        group = store.get_ad_group(ad_group_id, advertiser.advertiser_id)
        if group is None:
            raise HTTPException(404, f"no ad group {ad_group_id!r}")
        if runtime_ads is None:
            raise HTTPException(404, "ads are disabled on this server")
        server = runtime_ads.server
        req = AdRequest(
            user_id=user_id,
            now=time.time() if at is None else at,
            communities=_split(community),
            keywords=tuple(k.lower() for k in _split([keywords])),
            geo=geo,
            device=device,
            interests=_split([interests]),
            nsfw_community=nsfw_community,
            intents=_split([intents]),
            categories=tuple(category or ()),
            products=tuple(p.lower() for p in _split([products])),
            brand_safety=brand_safety,  # type: ignore[arg-type]
        )
        index = server.index  # one index version for the whole answer
        row = index.row_of.get(ad_group_id)
        out: dict[str, Any] = {
            "ad_group_id": ad_group_id,
            "campaign_id": group.campaign_id,
            "index_version": index.version,
            "in_index": row is not None,
            "degraded": False,
        }
        if row is None:
            out["reasons"] = [
                f"not in the serving index (ad group status {group.status!r}): the campaign or ad group "
                "is not active, outside its flight, has no active ad, or changed after the last refresh"
            ]
            out["would_serve"] = False
            return out
        try:
            reasons = server.explain(req, ad_group_id)
            recent = server.frequency.recent(req.user_id).get(ad_group_id, ())
        except (StoreUnavailable, redis.RedisError) as exc:
            reasons = index.explain(req, ad_group_id)
            reasons.append(f"frequency: unknown (frequency store unavailable: {type(exc).__name__})")
            recent = None
            out["degraded"] = True
        window = float(index.freq_window_s[row])
        out["frequency"] = {
            "max_impressions": int(index.freq_max[row]),
            "window_s": window,
            "user_impressions_in_window": (
                None if recent is None else sum(1 for t in recent if req.now - t < window)
            ),
        }
        c = int(index.campaign_row[row])
        pacer = server.pacer
        serve_prob = pacer.controller.serve_prob
        out["pacing"] = {
            "serve_probability": float(serve_prob[c]) if c < serve_prob.shape[0] else None,
            "day_spent_micros": int(pacer.day_spent[c]) if c < pacer.day_spent.shape[0] else None,
            "day_cap_micros": int(pacer.day_cap[c]) if c < pacer.day_cap.shape[0] else None,
        }
        match, overlap = index.match_features(req, np.asarray([row], dtype=np.int64))
        model = server.pctr_model
        if isinstance(model, PctrModel):
            pctr = model.predict_table(
                {
                    "ad_group_id": np.asarray([ad_group_id]),
                    "campaign_id": np.asarray([group.campaign_id]),
                    "position": np.zeros(1, dtype=np.int64),
                    "community_match": match,
                    "keyword_overlap": overlap,
                },
                at_position=0,
            )[0]
        else:
            pctr = model.prior_ctr
        out["pctr"] = {
            "model": "trained" if isinstance(model, PctrModel) else "prior",
            "value": float(pctr),
            "community_match": int(match[0]),
            "keyword_overlap": int(overlap[0]),
        }
        out["reasons"] = reasons
        out["would_serve"] = not reasons
        out["note"] = "would_serve ignores the auction: other ads may still outbid this one"
        return out

    return router

"""The REST API (FastAPI): feeds, events, health, metrics and the console.

Endpoints are plain ``def`` functions: FastAPI runs them on its worker threads, and the
pipeline inside is synchronous numpy work plus the executor's own small pool. Responses are
serialised with orjson; the pydantic models below document the shapes in the OpenAPI spec.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
import orjson
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from feedmix import __version__
from feedmix.ads.api.ad_tracker import AdEventBatch, InvalidAdEvents, ad_outcome_rows, ad_revenue_rows
from feedmix.ads.api.ads_overview_api import ads_overview_router
from feedmix.ads.api.advertiser_api import mount_advertiser_api
from feedmix.ads.api.explain_api import explain_router
from feedmix.console import STATIC_DIR
from feedmix.core.metrics import HttpMetricsMiddleware
from feedmix.core.params import ParamError, ParamRegistry
from feedmix.events.event_log import EventLogUnavailable, scan
from feedmix.events.schema import EventBatch
from feedmix.experiments.api import experiments_router
from feedmix.ranking.model_registry import ModelRegistry
from feedmix.ranking.models_api import models_router
from feedmix.serving.cursor import Cursor, CursorError
from feedmix.serving.feed_compare import compare as feed_compare
from feedmix.serving.feed_service import MAX_LIMIT, USER_ID, UnknownCommunity
from feedmix.serving.graphql_api.persisted import PersistedDocuments
from feedmix.serving.graphql_api.router import graphql_router
from feedmix.serving.graphql_api.services import GraphQLServices
from feedmix.serving.ops_api import ops_router
from feedmix.serving.pipeline_catalog import describe as describe_pipeline
from feedmix.serving.runtime import Runtime
from feedmix.shadow.api import shadows_router
from feedmix.signals.api import CorpusView, signals_router
from feedmix.stores.errors import StoreUnavailable

PARAM_PREFIX = "p."


class FeedItem(BaseModel):
    """A post (``kind="post"``) or an ad (``kind="ad"``); ``position`` is its place on the page."""

    id: str
    kind: str
    position: int
    title: str | None = None
    community: str | None = None
    score: float | None = None
    source: str | None = None
    created_utc: float | None = None
    age_hours: float | None = None
    post_score: int | None = None
    num_comments: int | None = None
    over_18: bool | None = None
    url: str | None = None
    permalink: str | None = None
    score_parts: dict[str, float] | None = None
    #: the ranker's head probabilities (empty while the heuristic ranks)
    predictions: dict[str, float] | None = None
    #: debug requests only: the online feature values (``f.*``) the item was ranked with
    features: dict[str, float | int | bool] | None = None
    #: ads only: the creative, and the token to send back with its impression and click events
    headline: str | None = None
    body: str | None = None
    call_to_action: str | None = None
    click_url: str | None = None
    image_url: str | None = None
    campaign_id: str | None = None
    ad_group_id: str | None = None
    ad_token: str | None = None


class FeedResponse(BaseModel):
    request_id: str
    user_id: str
    surface: str
    items: list[FeedItem]
    next_cursor: str | None
    coverage: float
    degraded: bool
    failed_components: list[str]
    user: dict[str, Any]
    model_version: str | None = None
    #: the experiments and variants the request was in (``experiment``, ``variant``, ``layer``,
    #: ``bucket_version``); empty when none applied or the assignment failed (see failed_components)
    experiments: list[dict[str, Any]] = []
    #: share of each source's candidate budget this request used (below 1 while load shedding)
    quality_factor: float = 1.0
    #: how many ad slots the page had, how many were served, and whether ads were degraded
    ads: dict[str, Any] | None = None
    #: communities the surface suggests joining (discovery)
    suggested_communities: list[str] | None = None
    trace: dict[str, Any] | None = None


class CompareRequest(BaseModel):
    """Two param sets (``name: value``, as ``p.<name>`` takes them) for one user's page."""

    user_id: str
    surface: str = "home"
    community: str | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 25
    a: dict[str, str | float | int | bool] = {}
    b: dict[str, str | float | int | bool] = {}


class EventsAccepted(BaseModel):
    accepted: int
    duplicates: int


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
    )


def _field_error(loc: list[str], msg: str, status: int = 422) -> HTTPException:
    return HTTPException(status_code=status, detail=[{"loc": loc, "msg": msg, "type": "value_error"}])


def _overrides(request: Request) -> dict[str, str]:
    return {k[len(PARAM_PREFIX) :]: v for k, v in request.query_params.items() if k.startswith(PARAM_PREFIX)}


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="feedmix",
        version=__version__,
        description="Personalized feeds over real Reddit posts. Params of a pipeline can be overridden per "
        "request with query parameters `p.<param>=<value>` (see `GET /v1/params`).",
    )
    app.state.runtime = runtime
    # every response counted by route and status class: the availability SLO's denominator
    app.add_middleware(HttpMetricsMiddleware)
    feeds = runtime.feeds

    def run_feed(
        request: Request,
        pipeline: str,
        user_id: str,
        limit: int,
        cursor: str | None,
        debug: bool,
        community: str | None = None,
    ) -> Response:
        if not USER_ID.match(user_id):
            raise _field_error(["query", "user_id"], "user_id must be 1-64 characters of A-Z a-z 0-9 _ . : -")
        cur = None
        if cursor:
            try:
                cur = Cursor.decode(cursor)
            except CursorError as exc:
                raise _field_error(["query", "cursor"], str(exc)) from None
        try:
            ad_context = {k: v[:32] for k in ("geo", "device") if (v := request.query_params.get(k))}
            body = feeds.feed(
                pipeline,
                user_id,
                limit,
                cur,
                debug,
                _overrides(request),
                community=community,
                ad_context=ad_context,
            )
        except ParamError as exc:
            raise _field_error(["query", PARAM_PREFIX + exc.name], str(exc)) from None
        except UnknownCommunity as exc:
            raise _field_error(["path", "name"], f"unknown community {exc.args[0]!r}", status=404) from None
        return _json(body)

    @app.get("/v1/feed", response_model=FeedResponse, tags=["feeds"])
    def home_feed(
        request: Request,
        user_id: Annotated[str, Query(min_length=1, max_length=64, description="who is asking")],
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 25,
        cursor: Annotated[
            str | None, Query(max_length=256, description="next_cursor of the previous page")
        ] = None,
        debug: bool = False,
    ) -> Response:
        """The home feed of a user; unknown users get a cold-start feed."""
        return run_feed(request, "home", user_id, limit, cursor, debug)

    @app.get("/v1/communities/{name}/feed", response_model=FeedResponse, tags=["feeds"])
    def community_feed(
        request: Request,
        name: str,
        user_id: Annotated[str, Query(min_length=1, max_length=64)] = "anonymous",
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 25,
        cursor: Annotated[str | None, Query(max_length=256)] = None,
        debug: bool = False,
    ) -> Response:
        """The feed of one community, ranked for the user."""
        return run_feed(request, "community", user_id, limit, cursor, debug, community=name)

    @app.get("/v1/discovery/feed", response_model=FeedResponse, tags=["feeds"])
    def discovery_feed(
        request: Request,
        user_id: Annotated[str, Query(min_length=1, max_length=64, description="who is asking")],
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 25,
        cursor: Annotated[str | None, Query(max_length=256)] = None,
        debug: bool = False,
    ) -> Response:
        """Apps and games discovery: catalogue posts new to the user, and communities to join."""
        return run_feed(request, "discovery", user_id, limit, cursor, debug)

    @app.post("/v1/events", status_code=202, response_model=EventsAccepted, tags=["events"])
    def post_events(batch: EventBatch) -> Response:
        """Impressions, clicks, votes and hides; durable in the event log before 202 is returned."""
        try:
            res = runtime.ingestor.ingest(batch, now=time.time())
        except EventLogUnavailable as exc:
            raise HTTPException(status_code=503, detail=f"event log unavailable: {exc}") from None
        return _json({"accepted": res.accepted, "duplicates": res.duplicates}, status=202)

    @app.post("/v1/ads/events", tags=["ads"])
    def ad_events(batch: AdEventBatch) -> Response:
        """Ad impressions and clicks, by the ``ad_token`` of the served ad item; each ``event_id`` bills
        once (a retry answers ``duplicates``). 503 when the spend or dedup stores are unavailable:
        retry, nothing was counted."""
        if runtime.ads is None:
            raise HTTPException(status_code=404, detail="ads are disabled on this server")
        try:
            res = runtime.ads.tracker.track(batch)
        except InvalidAdEvents as exc:
            raise HTTPException(status_code=422, detail=exc.errors) from None
        return _json(res)

    @app.get("/v1/users", tags=["directory"])
    def users(limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> Response:
        """Simulated users the server knows (the demo population)."""
        return _json({"users": runtime.population.to_json_rows(limit)})

    @app.get("/v1/communities", tags=["directory"])
    def communities() -> Response:
        c = runtime.corpus
        counts = c.post_counts()
        order = np.argsort(-c.subscribers, kind="stable")
        rows = [
            {"name": c.communities[i], "subscribers_2013": int(c.subscribers[i]), "posts": int(counts[i])}
            for i in order.tolist()
        ]
        return _json({"communities": rows})

    @app.get("/v1/params", tags=["directory"])
    def params(pipeline: str = "home") -> Response:
        """Every param of a pipeline with type, default, bounds and description."""
        if pipeline not in runtime.pipelines:
            raise _field_error(
                ["query", "pipeline"], f"unknown pipeline (known: {sorted(runtime.pipelines)})"
            )
        p = runtime.pipelines[pipeline]
        rows = [
            {
                "name": s.name,
                "type": s.type.__name__,
                "default": p.default_params[s.name],
                "min": s.min,
                "max": s.max,
                "description": s.description,
            }
            for s in p.param_registry.specs()
        ]
        return _json({"pipeline": pipeline, "params": rows})

    @app.post("/v1/compare", tags=["feeds"])
    def compare_feeds(req: CompareRequest) -> Response:
        """The same user's page under two param sets, ranked now, and how far apart they are (RBO,
        Jaccard@10, Kendall tau); side effects off, so a comparison is never traffic."""
        if not USER_ID.match(req.user_id):
            raise _field_error(["body", "user_id"], "user_id must be 1-64 characters of A-Z a-z 0-9 _ . : -")
        if req.surface not in runtime.pipelines:
            raise _field_error(["body", "surface"], f"unknown surface (known: {sorted(runtime.pipelines)})")
        for side, params in (("a", req.a), ("b", req.b)):
            try:
                runtime.pipelines[req.surface].params(params)
            except ParamError as exc:
                raise _field_error(["body", side, exc.name], str(exc)) from None
        try:
            body = feed_compare(feeds, req.surface, req.user_id, req.limit, req.a, req.b, req.community)
        except UnknownCommunity as exc:
            raise _field_error(["body", "community"], f"unknown community {exc.args[0]!r}", 404) from None
        return _json(body)

    @app.get("/v1/pipelines", tags=["directory"])
    def pipelines() -> Response:
        """Every pipeline: its stages, each component's type, owner, columns and params (bounds, default,
        current value), as the console's components page draws them."""
        return _json({"pipelines": [describe_pipeline(p) for p in runtime.pipelines.values()]})

    @app.get("/healthz", tags=["ops"])
    def healthz() -> Response:
        return _json(
            {
                "status": "ok",
                "version": __version__,
                "corpus": runtime.corpus.describe(),
                "users": len(runtime.population),
                "uptime_s": round(time.time() - runtime.started_at, 1),
                "indexes": runtime.indexes.versions() if runtime.indexes is not None else {},
            }
        )

    @app.post("/v1/admin/index/reload", tags=["ops"])
    def reload_indexes() -> Response:
        """Check the retrieval index directory now (the watcher does it every few seconds).

        Per index: ``swapped`` (a new build serves), ``opened`` (a first build), ``unchanged``,
        ``absent`` (never built), or ``refused`` (corrupt or incompatible, with the reason: the
        previous build keeps serving). Answers 409 when any build was refused.
        """
        if runtime.indexes is None:
            raise HTTPException(status_code=404, detail="this server serves no retrieval indexes")
        outcomes = {name: o.as_dict() for name, o in runtime.indexes.reload().items()}
        refused = any(o["status"] == "refused" for o in outcomes.values())
        body = {"indexes": outcomes, "serving": runtime.indexes.versions()}
        return _json(body, status=409 if refused else 200)

    @app.get("/metrics", tags=["ops"])
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")

    @app.get("/", include_in_schema=False)
    def console() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/console/ads", include_in_schema=False)
    def ads_console() -> FileResponse:
        """Advertiser reporting: spend, impressions, clicks, CTR, CPC and eCPM per campaign per day."""
        return FileResponse(STATIC_DIR / "ads.html")

    @app.get("/console/compare", include_in_schema=False)
    def compare_console() -> FileResponse:
        """Side by side: one user's page under two param sets, with the rank shifts between them."""
        return FileResponse(STATIC_DIR / "compare.html")

    app.include_router(ops_router(runtime.config.state_dir))

    @app.get("/console/ops", include_in_schema=False)
    def ops_console() -> FileResponse:
        """Ops: latency, errors and CPU per pipeline and component from /metrics, live; cost per
        component and team from the latest load run."""
        return FileResponse(STATIC_DIR / "ops.html")

    @app.get("/console/models", include_in_schema=False)
    def models_console() -> FileResponse:
        """Models: the ranker's versions and metrics, promote and roll back (operator key)."""
        return FileResponse(STATIC_DIR / "models.html")

    @app.get("/console/components", include_in_schema=False)
    def components_console() -> FileResponse:
        """Components and params: every pipeline drawn as its stages, every component's columns and params."""
        return FileResponse(STATIC_DIR / "components.html")

    @app.get("/console/signals", include_in_schema=False)
    def signals_console() -> FileResponse:
        """Signals: label a post, look up any post's signals, the registry's SLOs, community insights."""
        return FileResponse(STATIC_DIR / "signals.html")

    @app.get("/console/experiments", include_in_schema=False)
    def experiments_console() -> FileResponse:
        """Experiments: the list, each one's analysis table and metrics-over-time plot (operator key)."""
        return FileResponse(STATIC_DIR / "experiments.html")

    if runtime.campaigns is not None and runtime.assets is not None:
        corpus = runtime.corpus
        mount_advertiser_api(
            app,
            runtime.campaigns,
            runtime.assets,
            lambda name: corpus.community_id(name) is not None,  # admin token: $FEEDMIX_ADS_ADMIN_TOKEN
        )
        if runtime.ads is not None:
            app.include_router(explain_router(runtime.ads, runtime.campaigns))
        app.include_router(  # operator key: $FEEDMIX_OPERATOR_KEY
            ads_overview_router(runtime.campaigns, lambda: _ad_log(runtime, ad_outcome_rows))
        )

    experiments = runtime.experiments
    if experiments is not None:  # operator key: $FEEDMIX_OPERATOR_KEY
        app.include_router(
            experiments_router(
                experiments.store,
                lambda surface: _params_of(runtime, surface),
                lambda name: runtime.corpus.community_id(name) is not None,
                lambda: scan(experiments.exposure_log),
                lambda: scan(runtime.event_log),
                lambda: _ad_log(runtime, ad_revenue_rows),
                lambda: _ad_log(runtime, ad_outcome_rows),
                experiments.stats_flusher.flush,
            )
        )

    ranker = runtime.ranker
    app.include_router(  # operator key: $FEEDMIX_OPERATOR_KEY
        models_router(
            lambda: ModelRegistry(runtime.config.ranking_registry_dir),
            on_change=ranker.reload if ranker is not None else None,
        )
    )
    app.include_router(
        shadows_router(lambda: runtime.config.shadows, Path(runtime.config.state_dir) / "shadow")
    )
    signals = runtime.signals
    app.include_router(
        signals_router(
            signals.posts_log if signals is not None else None,
            signals.streamer if signals is not None else None,
            Path(runtime.config.state_dir),
            corpus=lambda: _corpus_signals(runtime),
        )
    )

    app.include_router(
        graphql_router(
            GraphQLServices(
                runtime.feeds,
                runtime.corpus,
                runtime.ingestor,
                lambda ids: _signals_of(runtime, ids),
                {"HOME": "home", "DISCOVERY": "discovery"},
                runtime.preferences,
                runtime.ads.tracker.track if runtime.ads is not None else None,
            ),
            PersistedDocuments.load(runtime.config.graphql_persisted_only),
            graphiql=runtime.config.graphql_graphiql,
        )
    )

    @app.get("/console/shadows", include_in_schema=False)
    def shadows_console() -> FileResponse:
        """Shadows: each one's report, rank agreement and shifts drawn beside their noise (operator key)."""
        return FileResponse(STATIC_DIR / "shadows.html")

    @app.exception_handler(StoreUnavailable)
    def store_down(_: Request, exc: StoreUnavailable) -> JSONResponse:
        return JSONResponse({"detail": f"store unavailable: {exc}"}, status_code=503)

    return app


_Row = TypeVar("_Row")


def _ad_log(runtime: Runtime, read: Callable[[Path], list[_Row]]) -> list[_Row]:
    """The ad log's rows as ``read`` selects them, including the ones still buffered (flushed first)."""
    if runtime.ads is None:
        return []
    runtime.ads.log.flush()
    return read(runtime.ads.log.root)


def _params_of(runtime: Runtime, surface: str) -> ParamRegistry | None:
    """The params of the pipeline serving ``surface`` (None: no such surface)."""
    for p in runtime.pipelines.values():
        if p.surface == surface:
            return p.param_registry
    return None


def _signals_of(runtime: Runtime, ids: list[str]) -> list[dict[str, Any] | None]:
    """Posts' signals for GraphQL, in one pass: the streaming pass's values, else the corpus'."""
    streamer = runtime.signals.streamer if runtime.signals is not None else None
    view = _corpus_signals(runtime)
    out: list[dict[str, Any] | None] = []
    for pid in ids:
        found = streamer.signals_of(pid) if streamer is not None else None
        if found is None and view is not None:
            row = view.post_row(pid)
            if row is not None and view.table.intent[row] >= 0:
                found = view.record(pid, row)
        out.append(found)
    return out


def _corpus_signals(runtime: Runtime) -> CorpusView | None:
    """The served corpus seen through its signals, once they are ready."""
    loader = runtime.corpus_signals
    if loader is None or loader.table is None:
        return None
    corpus = runtime.corpus

    def community_rows(name: str) -> Any:
        community = corpus.community_id(name)
        return None if community is None else corpus.community_rows(community)

    def post_row(post_id: str) -> int | None:
        try:
            row = int(corpus.rows_of([int(post_id, 36)])[0])
        except ValueError:
            return None
        return row if row >= 0 else None

    return CorpusView(loader.table, community_rows, corpus.created, post_row)

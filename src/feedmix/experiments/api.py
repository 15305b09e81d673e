"""The experiments API (``/v1/experiments``), behind the operator key: define, start, ramp, stop, analyse.

Every refusal is a 4xx whose ``detail`` names the field (``[{"loc": ["body", "allocation"], "msg": ...}]``)
and writes nothing: 422 for a bad value, 404 for an unknown experiment, 409 for a conflict with what
runs (the layer is full, another experiment owns the param, the status does not allow it). Changes
reach serving processes within their ``[experiments] refresh_interval_s``.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse, Response

from feedmix.core.params import ParamRegistry
from feedmix.events.schema import Event
from feedmix.experiments import rules
from feedmix.experiments.analysis import AdOutcomeRow, AdRevenueRow, analyze
from feedmix.experiments.experiment_store import ExperimentStore
from feedmix.experiments.exposure import Exposure
from feedmix.experiments.model import STATUSES, ExperimentError, experiment_from_dict
from feedmix.operator_key import require_operator


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
    )


def error_response(exc: ExperimentError) -> JSONResponse:
    loc = ["body", *exc.field.split(".")] if exc.status == 422 else [exc.field]
    return JSONResponse({"detail": [{"loc": loc, "msg": exc.message, "type": "value_error"}]}, exc.status)


def _number(body: Mapping[str, Any], name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExperimentError(name, f"expected a number, got {value!r}")
    return float(value)


def experiments_router(
    store: ExperimentStore,
    params_of: Callable[[str], ParamRegistry | None],
    community_known: Callable[[str], bool],
    exposures: Callable[[], Iterable[Exposure]],
    events: Callable[[], Iterable[Event]],
    ad_revenue: Callable[[], Iterable[AdRevenueRow]] = tuple,
    ad_outcomes: Callable[[], Iterable[AdOutcomeRow]] = tuple,
    flush_request_stats: Callable[[], object] = lambda: None,
    operator_key: str | None = None,
    clock: Callable[[], float] = time.time,
) -> APIRouter:
    """The routes; ``exposures``, ``events``, ``ad_revenue`` and ``ad_outcomes`` (per campaign) read
    the logs for an analysis (a full scan each); ``flush_request_stats`` adds this process's pending
    request counts to the store first (other processes' land within their flush interval)."""
    router = APIRouter(
        prefix="/v1/experiments", tags=["experiments"], dependencies=[Depends(require_operator(operator_key))]
    )

    def _analysis(experiment_id: str) -> dict[str, Any]:
        exp = store.get(experiment_id)
        flush_request_stats()
        stats = store.request_stats(exp.experiment_id, exp.bucket_version)
        if exp.unit == "campaign":  # campaigns' outcomes are the ad log's; users' events do not count
            return analyze(exp, exposures(), (), clock(), request_stats=stats, ad_outcomes=ad_outcomes())
        return analyze(exp, exposures(), events(), clock(), request_stats=stats, ad_revenue=ad_revenue())

    def guarded(fn: Callable[[], Any], status: int = 200) -> Response:
        try:
            return _json(fn(), status)
        except ExperimentError as exc:
            return error_response(exc)

    @router.get("")
    def list_experiments(status: str | None = None) -> Response:
        """Every experiment, newest first (``?status=running``)."""
        if status is not None and status not in STATUSES:
            return error_response(ExperimentError("status", f"must be one of {list(STATUSES)}"))
        statuses = None if status is None else [status]
        return guarded(lambda: {"experiments": [e.as_dict() for e in store.list(statuses)]})

    @router.post("", status_code=201)
    def create(body: Any = Body(...)) -> Response:  # noqa: B008 - FastAPI's way to take a raw JSON body
        """A new draft, its definition checked against the surfaces' params and bounds."""

        def run() -> Any:
            exp = experiment_from_dict(body)
            rules.check_new(exp, params_of, community_known)
            return store.create(exp, clock()).as_dict()

        return guarded(run, 201)

    @router.get("/holdouts")
    def holdouts() -> Response:
        """Holdout shares by scope (``global`` and layer names)."""
        return guarded(lambda: {"holdouts": store.holdouts()})

    @router.put("/holdouts/{scope}")
    def set_holdout(scope: str, body: Any = Body(...)) -> Response:  # noqa: B008
        def run() -> Any:
            store.set_holdout(scope, _number(body, "share"))
            return {"holdouts": store.holdouts()}

        return guarded(run)

    @router.get("/{experiment_id}")
    def show(experiment_id: str) -> Response:
        return guarded(lambda: store.get(experiment_id).as_dict())

    @router.post("/{experiment_id}/start")
    def start(experiment_id: str) -> Response:
        """Take a free slice of the layer and serve (409 if it does not fit or another owns a param)."""
        now = clock()
        return guarded(
            lambda: store.update(experiment_id, lambda e, run, h: rules.start(e, run, h, now)).as_dict()
        )

    @router.post("/{experiment_id}/stop")
    def stop(experiment_id: str) -> Response:
        now = clock()
        return guarded(lambda: store.update(experiment_id, lambda e, _r, _h: rules.stop(e, now)).as_dict())

    @router.post("/{experiment_id}/launch")
    def launch(experiment_id: str) -> Response:
        now = clock()
        return guarded(lambda: store.update(experiment_id, lambda e, _r, _h: rules.launch(e, now)).as_dict())

    @router.post("/{experiment_id}/ramp")
    def ramp(experiment_id: str, body: Any = Body(...)) -> Response:  # noqa: B008
        """Set the coverage (share of the reservation in the experiment): up keeps every variant."""

        def run() -> Any:
            coverage = _number(body, "coverage")
            return store.update(experiment_id, lambda e, _r, _h: rules.ramp(e, coverage)).as_dict()

        return guarded(run)

    @router.post("/{experiment_id}/allocation")
    def allocation(experiment_id: str, body: Any = Body(...)) -> Response:  # noqa: B008
        """Set the reserved share; a running experiment also needs a higher ``bucket_version``."""

        def run() -> Any:
            share = _number(body, "allocation")
            version = body.get("bucket_version")
            if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
                raise ExperimentError("bucket_version", f"expected an integer, got {version!r}")
            now = clock()
            return store.update(
                experiment_id, lambda e, run, h: rules.reallocate(e, share, version, run, h, now)
            ).as_dict()

        return guarded(run)

    @router.get("/{experiment_id}/analysis")
    def analysis(experiment_id: str) -> Response:
        """Per metric, each treatment against the control (95% CI, CUPED, always-valid CI, BH), and SRM."""
        return guarded(lambda: _analysis(experiment_id))

    @router.get("/{experiment_id}/analysis.png")
    def analysis_plot(experiment_id: str) -> Response:
        """The metrics over time (each treatment minus control, with its always-valid interval)."""
        from feedmix.experiments.analysis_plot import plot_series

        try:
            report = _analysis(experiment_id)
        except ExperimentError as exc:
            return error_response(exc)
        buf = io.BytesIO()
        plot_series(report, buf)
        return Response(buf.getvalue(), media_type="image/png")

    return router

"""Prometheus metrics the framework records for every request, debug or not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import Counter, Histogram

from feedmix.core.trace import RequestTrace

_LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)

REQUEST_LATENCY = Histogram(
    "feedmix_pipeline_latency_seconds", "Wall time of a pipeline run", ["pipeline"], buckets=_LATENCY_BUCKETS
)
REQUEST_CPU = Counter("feedmix_pipeline_cpu_seconds_total", "CPU time of pipeline runs", ["pipeline"])
REQUESTS = Counter("feedmix_pipeline_requests_total", "Pipeline runs", ["pipeline"])
DEGRADED = Counter("feedmix_pipeline_degraded_total", "Pipeline runs with a failed component", ["pipeline"])
STAGE_LATENCY = Histogram(
    "feedmix_stage_latency_seconds",
    "Wall time of a pipeline stage",
    ["pipeline", "stage"],
    buckets=_LATENCY_BUCKETS,
)
STAGE_CPU = Counter("feedmix_stage_cpu_seconds_total", "CPU time of a pipeline stage", ["pipeline", "stage"])
COMPONENT_LATENCY = Histogram(
    "feedmix_component_latency_seconds",
    "Wall time of a component",
    ["pipeline", "stage", "component"],
    buckets=_LATENCY_BUCKETS,
)
NON_FINITE_SCORES = Counter(
    "feedmix_non_finite_scores_total",
    "Candidates whose score was NaN or infinite (ranked last)",
    ["pipeline"],
)
COMPONENT_CPU = Counter(
    "feedmix_component_cpu_seconds_total", "CPU time of a component", ["pipeline", "component", "owner"]
)
COMPONENT_FAILURES = Counter(
    "feedmix_component_failures_total", "Component errors and timeouts", ["pipeline", "component", "status"]
)
COMPONENT_CANDIDATES_IN = Counter(
    "feedmix_component_candidates_in_total", "Candidates a component received", ["pipeline", "component"]
)
COMPONENT_CANDIDATES_OUT = Counter(
    "feedmix_component_candidates_out_total", "Candidates a component returned", ["pipeline", "component"]
)

HTTP_RESPONSES = Counter(
    "feedmix_http_responses_total",
    "HTTP responses, by route template and status class (2xx, 4xx, 5xx); the availability SLI",
    ["handler", "code"],
)

_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]
_ASGIApp = Callable[[_Scope, _Receive, _Send], Awaitable[None]]


class HttpMetricsMiddleware:
    """Pure ASGI middleware counting every HTTP response into ``feedmix_http_responses_total``.

    ``handler`` is the matched route's path template (``/v1/communities/{name}/feed``), so the label
    stays bounded; unmatched paths count as ``other``.  An exception that escapes the app counts as a
    ``5xx``.  Wire it with ``app.add_middleware(HttpMetricsMiddleware)``.
    """

    def __init__(self, app: _ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_wrapper(message: _Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            handler = str(getattr(route, "path", "other")) if route is not None else "other"
            _child(HTTP_RESPONSES, handler, f"{status // 100}xx").inc()


_children: dict[tuple[Any, ...], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, cached: the label lookup costs more than the update itself."""
    key = (id(metric), *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def record(trace: RequestTrace) -> None:
    p = trace.pipeline
    _child(REQUESTS, p).inc()
    _child(REQUEST_LATENCY, p).observe(trace.wall_ms / 1000.0)
    _child(REQUEST_CPU, p).inc(trace.cpu_ms / 1000.0)
    if trace.failed_components():
        _child(DEGRADED, p).inc()
    for stage in trace.stages:
        _child(STAGE_LATENCY, p, stage.stage).observe(stage.wall_ms / 1000.0)
        _child(STAGE_CPU, p, stage.stage).inc(stage.cpu_ms / 1000.0)
        for c in stage.components:
            if c.failed:
                _child(COMPONENT_FAILURES, p, c.component, c.status).inc()
            if c.status in ("disabled", "gated", "skipped"):
                continue
            _child(COMPONENT_LATENCY, p, stage.stage, c.component).observe(c.wall_ms / 1000.0)
            _child(COMPONENT_CPU, p, c.component, c.owner).inc(c.cpu_ms / 1000.0)
            _child(COMPONENT_CANDIDATES_IN, p, c.component).inc(c.candidates_in)
            _child(COMPONENT_CANDIDATES_OUT, p, c.component).inc(c.candidates_out)

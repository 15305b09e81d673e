"""Request traces as OpenTelemetry spans: off by default, on with ``[observability] otlp_endpoint``.

The executor hands every finished ``RequestTrace`` to a ``RequestTracer``. The default,
``NOOP_TRACER``, does nothing, and nothing of the OpenTelemetry SDK is imported or built for it.
``OtelRequestTracer`` turns the trace into spans *after* the pipeline has run: one root span per
request, a child per stage and a grandchild per component, with the timestamps the executor
recorded (``start_unix_ns`` plus each stage's and component's ``start_ms`` and ``wall_ms``).

Why from the finished trace and not spans opened inside the executor's loops: the executor already
measures every stage and component for the console and Prometheus, so the disabled path costs one
no-op method call per request instead of a span context per component, and the enabled path stays
off the per-component code (no context propagation into pool threads, no span objects alive while
a deadline is running). Spans go to a ``BatchSpanProcessor``: ending a span only appends it to a
bounded in-memory queue, and a background thread exports batches over OTLP/HTTP (protobuf). A slow
or unreachable collector therefore never slows a request; when the queue is full, spans are dropped.

Building the spans of a home-feed request (about 30 spans) costs about a millisecond of CPU, so
even that happens off the request thread: ``record`` only puts the finished trace on a bounded queue
(a full queue drops the trace and counts it in ``dropped``), and one daemon thread turns queued
traces into spans. ``flush`` waits for the queue; ``shutdown`` drains it, then exports what is left.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING, Any

from feedmix.core.trace import ComponentTrace, RequestTrace, StageTrace

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

log = logging.getLogger(__name__)

#: statuses that mark a component's span as an error (fallbacks and skips are deliberate degraded
#: modes: they show in ``feedmix.status`` and in the root's ``feedmix.degraded``)
ERROR_STATUSES = frozenset({"error", "timeout"})
#: the OTLP/HTTP path for traces, appended to an endpoint given as the collector's base URL
TRACES_PATH = "/v1/traces"


class RequestTracer:
    """What the executor calls with each finished trace; this base class is the no-op tracer."""

    #: False for the no-op tracer: callers can skip work that only a real tracer needs
    enabled = False

    def record(self, trace: RequestTrace, candidates: int) -> None:
        """Export one finished request (``candidates``: how many it returned). Never raises."""

    def shutdown(self) -> None:
        """Flush what is queued and stop background threads."""


NOOP_TRACER = RequestTracer()


def traces_url(endpoint: str) -> str:
    """``http://collector:4318`` -> ``http://collector:4318/v1/traces``; a full URL is kept."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


class OtelRequestTracer(RequestTracer):
    """Emits each request's trace as spans through its own ``TracerProvider``.

    The provider is private (not installed as the global one), so the process's other
    OpenTelemetry users, and tests that build several runtimes, do not interfere. ``sample_rate``
    is a trace-id ratio: an unsampled request costs one non-recording root span and no children.
    """

    enabled = True

    def __init__(
        self,
        exporter: SpanExporter,
        service_name: str = "feedmix",
        sample_rate: float = 1.0,
        processor: SpanProcessor | None = None,
        queue_size: int = 2048,
    ) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

        self.provider: TracerProvider = TracerProvider(
            resource=Resource.create({"service.name": service_name}),
            sampler=ParentBased(TraceIdRatioBased(sample_rate)),
        )
        # bounded queue, exported off the request thread; full queue -> spans dropped, not waited on
        self.provider.add_span_processor(processor or BatchSpanProcessor(exporter, max_queue_size=8192))
        self.tracer: Tracer = self.provider.get_tracer("feedmix.core.executor")
        self._queue: queue.Queue[tuple[RequestTrace, int] | None] = queue.Queue(maxsize=queue_size)
        #: traces dropped because the span-building thread fell behind
        self.dropped = 0
        self._worker = threading.Thread(target=self._drain, name="otel-spans", daemon=True)
        self._worker.start()

    @classmethod
    def otlp(
        cls, endpoint: str, service_name: str = "feedmix", sample_rate: float = 1.0
    ) -> OtelRequestTracer:
        """Export over OTLP/HTTP (protobuf) to a collector: ``endpoint`` is its base URL or traces URL."""
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # a short timeout: the exporter thread should give up on a dead collector and drop the batch
        return cls(OTLPSpanExporter(endpoint=traces_url(endpoint), timeout=5.0), service_name, sample_rate)

    def record(self, trace: RequestTrace, candidates: int) -> None:
        try:
            self._queue.put_nowait((trace, candidates))
        except queue.Full:  # the span thread is behind: drop this trace rather than wait
            self.dropped += 1

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                try:
                    self._emit(*item)
                except Exception:  # tracing must never take the service down
                    log.warning("could not emit the trace of request %s", item[0].request_id, exc_info=True)
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        """Wait until every recorded trace has become spans (handed to the span processor)."""
        self._queue.join()

    def _emit(self, trace: RequestTrace, candidates: int) -> None:
        from opentelemetry.trace import SpanKind, set_span_in_context

        t0 = trace.start_unix_ns
        root = self.tracer.start_span(
            f"pipeline {trace.pipeline}",
            kind=SpanKind.SERVER,
            start_time=t0,
            attributes={
                "feedmix.pipeline": trace.pipeline,
                "feedmix.request_id": trace.request_id,
                "feedmix.candidates": candidates,
                "feedmix.degraded": bool(trace.failed_components()),
                "feedmix.coverage": trace.coverage(),
                "feedmix.cpu_ms": trace.cpu_ms,
            },
        )
        if not root.is_recording():  # not sampled
            root.end(end_time=t0 + _ns(trace.wall_ms))
            return
        root_ctx = set_span_in_context(root)
        for stage in trace.stages:
            start, end = _stage_bounds(t0, stage)
            span = self.tracer.start_span(
                f"stage {stage.stage}",
                context=root_ctx,
                start_time=start,
                attributes={
                    "feedmix.stage": stage.stage,
                    "feedmix.candidates_in": stage.candidates_in,
                    "feedmix.candidates_out": stage.candidates_out,
                    "feedmix.cpu_ms": stage.cpu_ms,
                },
            )
            stage_ctx = set_span_in_context(span)
            for comp in stage.components:
                self._component(comp, t0, start, stage_ctx)
            span.end(end_time=end)
        root.end(end_time=t0 + _ns(trace.wall_ms))

    def _component(self, comp: ComponentTrace, t0: int, stage_start: int, ctx: Any) -> None:
        from opentelemetry.trace import Status, StatusCode

        attributes: dict[str, str | int | float] = {
            "feedmix.component": comp.component,
            "feedmix.kind": comp.kind,
            "feedmix.status": comp.status,
            "feedmix.owner": comp.owner,
            "feedmix.candidates_in": comp.candidates_in,
            "feedmix.candidates_out": comp.candidates_out,
            "feedmix.cpu_ms": comp.cpu_ms,
        }
        if comp.error is not None:
            attributes["feedmix.error"] = comp.error
        start = _component_start(t0, stage_start, comp)
        span = self.tracer.start_span(
            f"{comp.kind} {comp.component}", context=ctx, start_time=start, attributes=attributes
        )
        if comp.status in ERROR_STATUSES:
            span.set_status(Status(StatusCode.ERROR, comp.error or comp.status))
        span.end(end_time=start + _ns(comp.wall_ms))

    def shutdown(self) -> None:
        """Build the queued traces' spans, export them (bounded by the exporter's timeout), stop."""
        if self._worker.is_alive():
            self._queue.put(None)
            self._worker.join()
        self.provider.shutdown()


def _ns(ms: float) -> int:
    return int(ms * 1_000_000)


def _component_start(t0: int, stage_start: int, comp: ComponentTrace) -> int:
    """A component that never ran (disabled, gated) is drawn as an instant at its stage's start."""
    if comp.status in ("disabled", "gated"):
        return stage_start
    return t0 + _ns(comp.start_ms)


def _stage_bounds(t0: int, stage: StageTrace) -> tuple[int, int]:
    """A stage's span covers its own wall time and every component in it.

    A columnar stage's ``wall_ms`` is the sum of its components' times and the gates stage records
    none, so the end is widened to the last component's end.
    """
    start = t0 + _ns(stage.start_ms)
    end = start + _ns(stage.wall_ms)
    for comp in stage.components:
        end = max(end, _component_start(t0, start, comp) + _ns(comp.wall_ms))
    return start, end

"""OpenTelemetry request traces: span tree and attributes, the no-op default, OTLP export end to end."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from feedmix.config import ConfigFileError, FeedmixConfig
from feedmix.core import otel_tracing
from feedmix.core.executor import PipelineExecutor
from feedmix.core.otel_tracing import NOOP_TRACER, OtelRequestTracer, traces_url
from feedmix.core.pipeline import Pipeline, PipelineConfig
from feedmix.core.query import Deadline, Query
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.serving.runtime import build_tracer
from tests.core.toy_components import Calls, toy_registry
from tests.serving.feature_helpers import build_runtime


@pytest.fixture(scope="module")
def corpus() -> RedditCorpus:
    return RedditCorpus.load(FeedmixConfig().posts_path())


def memory_tracer(sample_rate: float = 1.0) -> tuple[OtelRequestTracer, InMemorySpanExporter]:
    """A tracer that exports synchronously into memory: a test sees the spans after ``flush()``."""
    exporter = InMemorySpanExporter()
    tracer = OtelRequestTracer(exporter, "feedmix-test", sample_rate, processor=SimpleSpanProcessor(exporter))
    return tracer, exporter


def span_tree(spans: tuple[ReadableSpan, ...]) -> tuple[ReadableSpan, list[ReadableSpan], list[ReadableSpan]]:
    """(root, stage spans, component spans), checking every parent link on the way."""
    roots = [s for s in spans if s.parent is None]
    assert len(roots) == 1
    root = roots[0]
    root_ctx = root.get_span_context()
    assert root_ctx is not None
    stages = [s for s in spans if s.parent is not None and s.parent.span_id == root_ctx.span_id]
    stage_ids = {s.get_span_context().span_id: s for s in stages}  # type: ignore[union-attr]
    comps = [s for s in spans if s.parent is not None and s.parent.span_id in stage_ids]
    assert len(spans) == 1 + len(stages) + len(comps)  # nothing dangles
    assert all(s.context is not None and s.context.trace_id == root_ctx.trace_id for s in spans)
    return root, stages, comps


def toy_query(p: Pipeline) -> Query:
    params = p.params(None)
    return Query("u1", p.surface, params, Deadline.from_ms(1000.0), uuid.uuid4().hex, now=0.0, limit=100)


def test_toy_pipeline_emits_root_stage_and_component_spans() -> None:
    tracer, exporter = memory_tracer()
    ex = PipelineExecutor(workers=2, tracer=tracer)
    p = Pipeline.build(
        PipelineConfig(
            name="toy_otel",
            surface="test",
            sources=[{"type": "range", "id": "good"}, {"type": "failing", "id": "broken"}],
            filters=[{"type": "min_value", "id": "min"}],
            scorers=[{"type": "value_scorer", "id": "by_value"}],
        ),
        toy_registry(),
        Calls(),
    )
    try:
        result = ex.run(p, toy_query(p))
    finally:
        ex.shutdown(wait_for_side_effects=False)
        tracer.shutdown()
    root, stages, comps = span_tree(exporter.get_finished_spans())
    assert root.name == "pipeline toy_otel"
    attrs = dict(root.attributes or {})
    assert attrs["feedmix.pipeline"] == "toy_otel"
    assert attrs["feedmix.request_id"] == result.query.request_id
    assert attrs["feedmix.candidates"] == len(result.batch)
    assert attrs["feedmix.degraded"] is True
    assert root.resource.attributes["service.name"] == "feedmix-test"
    assert [s.name for s in stages] == [f"stage {st.stage}" for st in result.trace.stages]
    by_name = {dict(c.attributes or {})["feedmix.component"]: c for c in comps}
    assert set(by_name) == {"good", "broken", "min", "by_value"}
    broken = by_name["broken"]
    assert broken.status.status_code is StatusCode.ERROR
    assert "source exploded" in (broken.status.description or "")
    assert dict(broken.attributes or {})["feedmix.status"] == "error"
    good = dict(by_name["good"].attributes or {})
    assert good["feedmix.status"] == "ok" and good["feedmix.candidates_out"] == 10
    assert by_name["good"].status.status_code is StatusCode.UNSET
    flt = dict(by_name["min"].attributes or {})
    assert (flt["feedmix.candidates_in"], flt["feedmix.candidates_out"]) == (10, 10)
    assert flt["feedmix.kind"] == "filter" and flt["feedmix.owner"] == "feed"
    # real, nested timestamps: every child lies inside its parent, the parent inside the root
    parents = {s.get_span_context().span_id: s for s in (root, *stages)}  # type: ignore[union-attr]
    for span in (*stages, *comps):
        assert span.parent is not None
        parent = parents[span.parent.span_id]
        assert span.start_time is not None and span.end_time is not None
        assert parent.start_time is not None and parent.end_time is not None
        assert parent.start_time <= span.start_time <= span.end_time
    assert root.start_time is not None and abs(root.start_time - time.time_ns()) < 60 * 1_000_000_000


def test_unsampled_requests_emit_no_spans() -> None:
    tracer, exporter = memory_tracer(sample_rate=0.0)
    ex = PipelineExecutor(workers=1, tracer=tracer)
    p = Pipeline.build(
        PipelineConfig(name="toy_unsampled", surface="test", sources=["range"]), toy_registry(), Calls()
    )
    try:
        ex.run(p, toy_query(p))
    finally:
        ex.shutdown(wait_for_side_effects=False)
        tracer.shutdown()
    assert exporter.get_finished_spans() == ()


def test_home_feed_run_is_traced(
    tmp_path: Path, corpus: RedditCorpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = build_runtime(tmp_path, corpus)
    tracer, exporter = memory_tracer()
    rt.executor.tracer = tracer
    source = rt.pipelines["home"].sources[0]

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("index offline")

    monkeypatch.setattr(source, "fetch", explode)
    try:
        body = rt.feeds.feed("home", "u0001", 10)
    finally:
        rt.close()
    assert body["items"]
    root, stages, comps = span_tree(exporter.get_finished_spans())
    attrs = dict(root.attributes or {})
    assert root.name == "pipeline home" and attrs["feedmix.degraded"] is True
    assert attrs["feedmix.candidates"] == len(body["items"])
    names = {s.name for s in stages}
    assert {"stage sources", "stage scorers", "stage selectors"} <= names
    failed = [c for c in comps if c.status.status_code is StatusCode.ERROR]
    assert [dict(c.attributes or {})["feedmix.component"] for c in failed] == [source.identifier]
    assert "index offline" in (failed[0].status.description or "")
    assert len(comps) >= 10  # every source, hydrator, filter, scorer and selector of the home feed


def test_no_endpoint_builds_no_sdk_objects(
    tmp_path: Path, corpus: RedditCorpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("tracing is off: no OpenTelemetry SDK object may be built")

    monkeypatch.setattr(OtelRequestTracer, "__init__", forbidden)
    monkeypatch.setattr("opentelemetry.sdk.trace.TracerProvider.__init__", forbidden)
    assert build_tracer(FeedmixConfig(state_dir=str(tmp_path))) is NOOP_TRACER
    rt = build_runtime(tmp_path, corpus)
    try:
        assert rt.executor.tracer is NOOP_TRACER and not rt.executor.tracer.enabled
        assert rt.feeds.feed("home", "u0001", 5)["items"]
    finally:
        rt.close()


def test_observability_config_keys() -> None:
    cfg = FeedmixConfig.from_dict(
        {
            "observability": {
                "otlp_endpoint": "http://otel:4318",
                "service_name": "feeds",
                "trace_sample_rate": 0.25,
            }
        }
    )
    assert (cfg.otlp_endpoint, cfg.otel_service_name, cfg.trace_sample_rate) == (
        "http://otel:4318",
        "feeds",
        0.25,
    )
    assert FeedmixConfig().otlp_endpoint == ""  # off by default
    with pytest.raises(ConfigFileError, match="trace_sample_rate"):
        FeedmixConfig.from_dict({"observability": {"trace_sample_rate": 1.5}})
    with pytest.raises(ConfigFileError, match="otlp_endpoint"):
        FeedmixConfig.from_dict({"observability": {"otlp_endpoint": "otel:4318"}})
    assert traces_url("http://otel:4318/") == "http://otel:4318/v1/traces"
    assert traces_url("http://otel:4318/v1/traces") == "http://otel:4318/v1/traces"
    assert FeedmixConfig.from_toml(Path(__file__).parents[2] / "config" / "feedmix.toml").otlp_endpoint == ""


class _Collector(BaseHTTPRequestHandler):
    """Records every OTLP POST; answers 200 with an empty ExportTraceServiceResponse."""

    received: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    received: list[tuple[str, bytes]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_feed_request_reaches_an_otlp_collector(
    tmp_path: Path,
    corpus: RedditCorpus,
    collector: tuple[str, list[tuple[str, bytes]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint, received = collector
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")  # export batches quickly, not every 5 s
    rt = build_runtime(tmp_path, corpus, otlp_endpoint=endpoint, otel_service_name="feedmix-e2e")
    try:
        assert isinstance(rt.executor.tracer, otel_tracing.OtelRequestTracer)
        rt.feeds.feed("home", "u0001", 10)
        deadline = time.monotonic() + 30.0
        while not received and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        rt.close()
    assert received, "no OTLP export arrived"
    path, body = received[0]
    assert path == "/v1/traces"
    request = ExportTraceServiceRequest.FromString(body)
    service = {
        a.value.string_value
        for rs in request.resource_spans
        for a in rs.resource.attributes
        if a.key == "service.name"
    }
    assert service == {"feedmix-e2e"}
    names = {s.name for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans}
    assert "pipeline home" in names and "stage sources" in names


def test_span_building_is_off_the_request_thread_and_a_backlog_drops_traces() -> None:
    import threading

    from feedmix.core.trace import RequestTrace

    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    tracer = OtelRequestTracer(exporter, "feedmix-test", processor=processor, queue_size=1)
    gate = threading.Event()
    built: list[str] = []
    real_emit = tracer._emit

    def slow_emit(trace: RequestTrace, candidates: int) -> None:
        gate.wait(30)
        built.append(trace.request_id)
        real_emit(trace, candidates)

    tracer._emit = slow_emit  # type: ignore[method-assign]
    try:
        for i in range(4):  # record returns at once even though span building is stuck
            tracer.record(RequestTrace(pipeline="p", request_id=f"r{i}"), 0)
        assert built == [] and tracer.dropped >= 2  # one in the builder, one queued, the rest dropped
        gate.set()
        tracer.flush()
        assert len(built) == 4 - tracer.dropped
        assert {s.name for s in exporter.get_finished_spans()} == {"pipeline p"}
    finally:
        gate.set()
        tracer.shutdown()

"""A throwaway HTTP server for the benchmark tests: known latencies, known errors, known metrics.

Used in-process (uvicorn in a thread, see ``conftest.py``) and as a subprocess (``python
bench_fake_server.py --host H --port P``) to exercise the start/stop handling.  ``/v1/feed``
charges fixed amounts to the same Prometheus series the real server exposes, so the metric-delta
arithmetic has exact expected values: per feed request 3 ms of process CPU, a 2 ms pipeline run
and the stage/component times in ``FEED_COST``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import prometheus_client as prom
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from feedmix.bench.ports import free_port

PROCESS_CPU_S = 0.003
PIPELINE_WALL_S = 0.002
PIPELINE_CPU_S = 0.0015
# stage -> (wall seconds, cpu seconds, {component: (wall seconds, cpu seconds)})
FEED_COST: dict[str, tuple[float, float, dict[str, tuple[float, float]]]] = {
    "sources": (0.0005, 0.0003, {"following": (0.0002, 0.0001), "trending": (0.0003, 0.0002)}),
    "rank": (0.001, 0.0008, {"linear": (0.001, 0.0008)}),
}


@dataclass
class FakeState:
    metrics_enabled: bool = True
    feed_users: Counter[str] = field(default_factory=Counter)
    feed_limits: Counter[str] = field(default_factory=Counter)
    tags: Counter[str] = field(default_factory=Counter)


@dataclass
class FakeServer:
    url: str
    state: FakeState


def build_app() -> tuple[Starlette, FakeState]:
    state = FakeState()
    registry = prom.CollectorRegistry()
    process_cpu = prom.Counter("process_cpu_seconds", "fake process CPU", registry=registry)
    pipe_lat = prom.Histogram("feedmix_pipeline_latency_seconds", "", ["pipeline"], registry=registry)
    pipe_cpu = prom.Counter("feedmix_pipeline_cpu_seconds", "", ["pipeline"], registry=registry)
    stage_lat = prom.Histogram("feedmix_stage_latency_seconds", "", ["pipeline", "stage"], registry=registry)
    stage_cpu = prom.Counter("feedmix_stage_cpu_seconds", "", ["pipeline", "stage"], registry=registry)
    comp_lat = prom.Histogram(
        "feedmix_component_latency_seconds", "", ["pipeline", "stage", "component"], registry=registry
    )
    comp_cpu = prom.Counter(
        "feedmix_component_cpu_seconds", "", ["pipeline", "component", "owner"], registry=registry
    )

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def sleep(request: Request) -> Response:
        tag = request.query_params.get("tag")
        if tag:
            state.tags[tag] += 1
        await asyncio.sleep(float(request.query_params.get("ms", "0")) / 1000.0)
        return JSONResponse({"slept_ms": request.query_params.get("ms", "0")})

    async def fail(request: Request) -> Response:
        return PlainTextResponse("boom", status_code=500)

    async def feed(request: Request) -> Response:
        state.feed_users[request.query_params["user_id"]] += 1
        state.feed_limits[request.query_params["limit"]] += 1
        await asyncio.sleep(0.001)
        process_cpu.inc(PROCESS_CPU_S)
        pipe_lat.labels("home").observe(PIPELINE_WALL_S)
        pipe_cpu.labels("home").inc(PIPELINE_CPU_S)
        for stage, (wall, cpu, components) in FEED_COST.items():
            stage_lat.labels("home", stage).observe(wall)
            stage_cpu.labels("home", stage).inc(cpu)
            for component, (c_wall, c_cpu) in components.items():
                comp_lat.labels("home", stage, component).observe(c_wall)
                comp_cpu.labels("home", component, "feed").inc(c_cpu)
        return JSONResponse({"items": []})

    async def metrics(request: Request) -> Response:
        if not state.metrics_enabled:
            return PlainTextResponse("not here", status_code=404)
        return Response(prom.generate_latest(registry), media_type=prom.CONTENT_TYPE_LATEST)

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/sleep", sleep),
            Route("/fail", fail),
            Route("/v1/feed", feed),
            Route("/metrics", metrics),
        ]
    )
    return app, state


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app, _ = build_app()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()


@contextlib.contextmanager
def running_fake_server() -> Iterator[FakeServer]:
    """A fresh fake server on its own port, stopped on exit."""
    app, state = build_app()
    # uvicorn binds the port itself: handing it a pre-bound socket instead made every keep-alive
    # request on this machine take ~45 ms (Nagle/delayed-ACK-like stalls), which would swamp the
    # timings under test.  The port could in theory be taken between probe and bind; that only
    # makes the fixture fail loudly.
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("fake server did not start")
        time.sleep(0.01)
    try:
        yield FakeServer(f"http://127.0.0.1:{port}", state)
    finally:
        server.should_exit = True
        thread.join(timeout=10)

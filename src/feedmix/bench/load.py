"""Open-loop HTTP load generator that does not suffer from coordinated omission.

A closed-loop generator ("send, wait for the answer, send the next") slows down exactly when the
server does, so a stall delays the requests that *would* have arrived during it instead of making
them wait, and those waits never show up in the percentiles (Gil Tene's "coordinated omission").
Real users do not coordinate with the server, so here request ``i`` is due at ``t0 + i / rate`` no
matter how long earlier requests take, and its latency is measured from that *scheduled* time.  The
time from the moment the request really went onto the wire ("service time") is recorded as well;
the gap between the two distributions is the queueing a closed-loop benchmark would have hidden.

Limits that matter when reading the numbers:

* the scheduler sleeps with asyncio, whose timers wake up to ~1 ms late, and the generator shares the
  machine with the server when both run locally; :attr:`LoadResult.dispatch_lag_ms` says how late
  the generator itself started requests, so a starved generator is visible rather than silently
  blamed on the server;
* at most ``max_in_flight`` requests are outstanding; a request due while the cap is reached is not
  sent and is counted as the error ``"dropped"`` (an open-loop generator against a saturated server
  would otherwise pile up requests without bound).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt

PathFor = Callable[[int], str]
"""Maps the global request index (warm-up included, starting at 0) to a URL path like ``/v1/feed?...``.

An absolute URL (``http://...``) is sent as it is instead of being appended to the base URL, so one
generator can spread its schedule over several servers (see :func:`feedmix.bench.serving.spread_over`)."""

ProgressCallback = Callable[[float], None]
"""Called a few times a second with the seconds of the measured window that have elapsed."""

FloatArray = npt.NDArray[np.float64]

DROPPED = "dropped"
"""Error kind of a request that was due while ``max_in_flight`` requests were already outstanding."""

GENERATOR_LAG_WARN_MS = 10.0
"""p99 delay of the generator behind its own schedule above which :meth:`LoadResult.warnings` warns."""

_PROGRESS_INTERVAL_S = 0.2
# A short lead before the first due time, so request 0 is not already late by the time the
# scheduler loop has been set up (that lateness would be charged to the server).
_START_LEAD_S = 0.005


@dataclass(frozen=True)
class Percentiles:
    """Latency summary in milliseconds; ``None`` everywhere when there were no samples."""

    p50: float | None
    p90: float | None
    p99: float | None
    p99_9: float | None
    max: float | None
    mean: float | None
    count: int

    @classmethod
    def of(cls, values_ms: FloatArray) -> Percentiles:
        """Summarise a sample (linear interpolation between order statistics, numpy's default)."""
        if values_ms.size == 0:
            return cls(None, None, None, None, None, None, 0)
        p50, p90, p99, p999 = (float(v) for v in np.percentile(values_ms, [50.0, 90.0, 99.0, 99.9]))
        return cls(p50, p90, p99, p999, float(values_ms.max()), float(values_ms.mean()), int(values_ms.size))

    def as_dict(self) -> dict[str, float | int | None]:
        """JSON-ready form with the key names the benchmark report uses (``p99_9`` for p99.9)."""
        return {
            "p50": self.p50,
            "p90": self.p90,
            "p99": self.p99,
            "p99_9": self.p99_9,
            "max": self.max,
            "mean": self.mean,
            "count": self.count,
        }


@dataclass
class LoadResult:
    """What one open-loop run measured (the warm-up is never included).

    ``latencies_ms``, ``service_ms`` and ``scheduled_s`` are aligned: entry ``k`` is the ``k``-th
    successful (2xx) measured request in schedule order; failed requests only count in ``errors``
    because the time to an error page says nothing about the time to a feed.
    """

    rate_rps: float
    duration_s: float
    warmup_s: float
    requests: int
    """Requests scheduled inside the measured window: ``ok`` + every error, dropped ones included."""
    ok: int
    errors: dict[str, int]
    """Error counts by kind: ``http_<status>``, ``timeout``, ``connect_error``, ``dropped`` or an
    exception class name."""
    elapsed_s: float
    """From the start of the window until its last request finished (at least ``duration_s``)."""
    achieved_rps: float
    """Successful responses per second over ``elapsed_s``: the goodput, so fast error pages or a
    backlog that drains after the window do not flatter the server."""
    latency: Percentiles
    """From each request's scheduled time to the end of its response body."""
    service: Percentiles
    """From writing the request headers on a connection to the end of the response body."""
    dispatch_lag_ms: Percentiles
    """How late the generator began each measured request relative to its schedule (all of them)."""
    peak_in_flight: int
    max_in_flight: int
    latencies_ms: FloatArray = field(repr=False)
    service_ms: FloatArray = field(repr=False)
    scheduled_s: FloatArray = field(repr=False)
    """Scheduled time of each successful request, seconds since the start of the measured window."""

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def sent(self) -> int:
        """Requests that actually reached the client (everything but the dropped ones)."""
        return self.requests - self.errors.get(DROPPED, 0)

    def warnings(self, lag_threshold_ms: float = GENERATOR_LAG_WARN_MS) -> list[str]:
        """Reasons not to take the numbers at face value, for people reading only the summary.

        The most important one is a generator that could not keep its own schedule: its delay then
        shows up as latency from schedule and would otherwise be blamed on the server.
        """
        out: list[str] = []
        lag = self.dispatch_lag_ms.p99
        if lag is not None and lag > lag_threshold_ms:
            out.append(
                f"the load generator fell behind its schedule (p99 dispatch lag {lag:.1f} ms): latency "
                "from schedule includes the generator's own delay; lower the rate or run the "
                "generator on a machine of its own"
            )
        dropped = self.errors.get(DROPPED, 0)
        if dropped:
            out.append(
                f"{dropped} of {self.requests} requests were dropped because {self.max_in_flight} were "
                "already in flight: the server could not keep up with the rate"
            )
        if self.requests and self.achieved_rps < 0.9 * self.requests / self.duration_s:
            out.append(
                f"achieved {self.achieved_rps:.1f} successful requests/s of the "
                f"{self.requests / self.duration_s:.1f}/s scheduled"
            )
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable summary without the raw arrays."""
        return {
            "rate_rps": self.rate_rps,
            "duration_s": self.duration_s,
            "warmup_s": self.warmup_s,
            "requests": self.requests,
            "ok": self.ok,
            "errors": dict(self.errors),
            "elapsed_s": self.elapsed_s,
            "achieved_rps": self.achieved_rps,
            "latency_ms": self.latency.as_dict(),
            "service_ms": self.service.as_dict(),
            "dispatch_lag_ms": self.dispatch_lag_ms.as_dict(),
            "peak_in_flight": self.peak_in_flight,
            "max_in_flight": self.max_in_flight,
            "warnings": self.warnings(),
        }


def make_client(
    max_connections: int, timeout_s: float, headers: Mapping[str, str] | None = None
) -> httpx.AsyncClient:
    """An ``AsyncClient`` whose pool can hold every in-flight request on its own connection.

    With fewer connections than in-flight requests, requests would queue inside the pool; that is
    still measured (from schedule) but it is the generator's queue, not the server's.  Proxy
    settings from the environment are ignored (``trust_env=False``): a benchmark routed through
    an HTTP proxy would measure the proxy.
    """
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.AsyncClient(
        limits=limits, timeout=httpx.Timeout(timeout_s), headers=dict(headers or {}), trust_env=False
    )


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect_error"
    return type(exc).__name__


class _Run:
    """Mutable state of one run, shared by the scheduler loop and the request tasks."""

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, window_start: float, max_in_flight: int
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.window_start = window_start
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.peak_in_flight = 0
        self.errors: Counter[str] = Counter()
        self.requests = 0
        self.last_end = window_start
        # Parallel lists for successful measured requests (schedule offset, latency, service time).
        self.ok_scheduled: list[float] = []
        self.ok_latency: list[float] = []
        self.ok_service: list[float] = []
        self.dispatch_lag: list[float] = []
        self.tasks: set[asyncio.Task[None]] = set()

    def launch(self, path: str, due: float, measured: bool) -> None:
        if measured:
            self.requests += 1
        if self.in_flight >= self.max_in_flight:
            if measured:
                self.errors[DROPPED] += 1
            return
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        task = asyncio.create_task(self._one(url, due, measured))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _one(self, url: str, due: float, measured: bool) -> None:
        started = time.perf_counter()
        sent: list[float] = []

        async def trace(event: str, info: Mapping[str, Any]) -> None:
            # httpcore reports when the request headers start going onto a connection, i.e. after
            # waiting for a pooled connection and after any TCP connect: the true "send" time.
            if not sent and event.endswith("send_request_headers.started"):
                sent.append(time.perf_counter())

        status: int | None = None
        kind: str | None = None
        try:
            response = await self.client.get(url, extensions={"trace": trace})
            status = response.status_code
        except Exception as exc:  # every failure is data for the benchmark, never a crash
            kind = _error_kind(exc)
        finally:
            end = time.perf_counter()
            self.in_flight -= 1
        if not measured:
            return
        self.dispatch_lag.append((started - due) * 1000.0)
        self.last_end = max(self.last_end, end)
        if status is not None and 200 <= status < 300:
            send_time = sent[0] if sent else started
            self.ok_scheduled.append(due - self.window_start)
            self.ok_latency.append((end - due) * 1000.0)
            self.ok_service.append((end - send_time) * 1000.0)
        else:
            self.errors[kind if kind is not None else f"http_{status}"] += 1


async def _report_progress(callback: ProgressCallback, window_start: float, duration_s: float) -> None:
    while True:
        callback(min(max(0.0, time.perf_counter() - window_start), duration_s))
        await asyncio.sleep(_PROGRESS_INTERVAL_S)


async def run_load(
    base_url: str,
    path_for: PathFor,
    rate: float,
    duration_s: float,
    warmup_s: float = 0.0,
    *,
    max_in_flight: int = 256,
    max_connections: int | None = None,
    timeout_s: float = 10.0,
    client: httpx.AsyncClient | None = None,
    headers: Mapping[str, str] | None = None,
    on_progress: ProgressCallback | None = None,
) -> LoadResult:
    """Send ``GET base_url + path_for(i)`` at ``rate`` requests per second, open loop.

    Requests due in the first ``warmup_s`` seconds are sent but not recorded (they warm connection
    pools, caches and lazily built server state); those due in the following ``duration_s`` seconds
    are measured.  The call returns once every measured request has finished or timed out.

    ``client`` lets a caller reuse one pool across runs (and for its own scrapes) so a separate
    warm-up run leaves warm connections behind; otherwise one is created with ``max_connections``
    (default: ``max_in_flight``) connections and closed at the end.
    """
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"rate must be a positive number of requests per second, got {rate!r}")
    if not duration_s > 0:
        raise ValueError(f"duration_s must be positive, got {duration_s!r}")
    if warmup_s < 0:
        raise ValueError(f"warmup_s must not be negative, got {warmup_s!r}")
    if max_in_flight < 1:
        raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight!r}")

    own_client = client is None
    http = client if client is not None else make_client(max_connections or max_in_flight, timeout_s, headers)
    try:
        return await _drive(http, base_url, path_for, rate, duration_s, warmup_s, max_in_flight, on_progress)
    finally:
        if own_client:
            await http.aclose()


async def _drive(
    client: httpx.AsyncClient,
    base_url: str,
    path_for: PathFor,
    rate: float,
    duration_s: float,
    warmup_s: float,
    max_in_flight: int,
    on_progress: ProgressCallback | None,
) -> LoadResult:
    t0 = time.perf_counter() + _START_LEAD_S
    window_start = t0 + warmup_s
    end_offset = warmup_s + duration_s
    run = _Run(client, base_url, window_start, max_in_flight)
    ticker = (
        asyncio.create_task(_report_progress(on_progress, window_start, duration_s))
        if on_progress is not None
        else None
    )
    try:
        i = 0
        while True:
            # Multiply rather than accumulate 1/rate so the schedule cannot drift over long runs.
            offset = i / rate
            if offset >= end_offset:
                break
            due = t0 + offset
            # Sleep even when already late (delay <= 0): yielding lets in-flight requests progress,
            # and a late start is charged to the latency-from-schedule where it belongs.
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            run.launch(path_for(i), due, measured=offset >= warmup_s)
            i += 1
        while run.tasks:
            await asyncio.gather(*list(run.tasks))
    finally:
        if ticker is not None:
            ticker.cancel()
        for task in list(run.tasks):  # only non-empty when interrupted
            task.cancel()
    if on_progress is not None:
        on_progress(duration_s)

    latencies = np.asarray(run.ok_latency, dtype=np.float64)
    service = np.asarray(run.ok_service, dtype=np.float64)
    elapsed = max(duration_s, run.last_end - window_start)
    return LoadResult(
        rate_rps=rate,
        duration_s=duration_s,
        warmup_s=warmup_s,
        requests=run.requests,
        ok=int(latencies.size),
        errors=dict(sorted(run.errors.items())),
        elapsed_s=elapsed,
        achieved_rps=latencies.size / elapsed,
        latency=Percentiles.of(latencies),
        service=Percentiles.of(service),
        dispatch_lag_ms=Percentiles.of(np.asarray(run.dispatch_lag, dtype=np.float64)),
        peak_in_flight=run.peak_in_flight,
        max_in_flight=max_in_flight,
        latencies_ms=latencies,
        service_ms=service,
        scheduled_s=np.asarray(run.ok_scheduled, dtype=np.float64),
    )

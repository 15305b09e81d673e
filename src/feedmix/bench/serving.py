"""``feedmix bench serving``: open-loop load against the feed endpoint plus the server's own cost.

The client side (:mod:`feedmix.bench.load`) gives latency percentiles measured from each request's
scheduled time; the server side (:mod:`feedmix.bench.server_metrics`) turns two ``/metrics`` scrapes
into CPU per request and per-stage/per-component means.  Together they answer both "is it fast
enough at this rate?" and "where does the time go?" from one run.

The warm-up runs as its own open-loop run on the same connection pool, the first scrape is taken
once it has drained, and the second once the last measured request has finished, so the server
counters cover the measured requests and nothing else (apart from the one ``/metrics`` request).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import httpx

from feedmix.bench.load import LoadResult, PathFor, ProgressCallback, make_client, run_load
from feedmix.bench.plot import write_latency_plot
from feedmix.bench.server_metrics import Snapshot, parse_snapshot, server_breakdown

_HEALTH_POLL_S = 0.25
_STOP_GRACE_S = 10.0
_LOG_TAIL_CHARS = 4000


def feed_path_for(users: Sequence[str], limit: int, feed_path: str = "/v1/feed") -> PathFor:
    """Request ``i`` asks for the feed of ``users[i % len(users)]``, so every user gets equal load."""
    if not users:
        raise ValueError("users must not be empty")
    paths = [f"{feed_path}?{urlencode({'user_id': u, 'limit': limit})}" for u in users]
    return lambda i: paths[i % len(paths)]


def spread_over(base_urls: Sequence[str], path_for: PathFor) -> PathFor:
    """Request ``i`` goes to ``base_urls[i % len(base_urls)]``: one open-loop schedule, several servers.

    Round-robin, as a load balancer without session affinity would spread it; the paths still come
    from ``path_for``, so the users' order does not change with the number of servers.
    """
    if not base_urls:
        raise ValueError("base_urls must not be empty")
    bases = [u.rstrip("/") for u in base_urls]
    return lambda i: bases[i % len(bases)] + path_for(i)


def url_from_server_cmd(cmd: Sequence[str]) -> str:
    """The base URL a server started with ``cmd`` will listen on, from its ``--host``/``--port``.

    A wildcard bind address is reached over loopback.
    """
    options: dict[str, str] = {}
    for i, arg in enumerate(cmd):
        for opt in ("--host", "--port"):
            if arg == opt and i + 1 < len(cmd):
                options[opt] = cmd[i + 1]
            elif arg.startswith(opt + "="):
                options[opt] = arg.split("=", 1)[1]
    if "--port" not in options:
        raise ValueError("start_server_cmd must pass --port so the benchmark knows where to connect")
    host = options.get("--host", "127.0.0.1")
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{int(options['--port'])}"


class ServerProcess:
    """A server subprocess that is healthy on entry and gone on exit, whatever happens in between.

    It runs in its own session so that Ctrl-C in the terminal reaches only the benchmark, which then
    stops the server's whole process group itself (so helpers it spawned do not linger).  Output goes
    to a log file (it would garble the progress bar and the report); the file is kept only when the
    server fails to come up, and the error then quotes its tail and names it.
    """

    def __init__(self, cmd: Sequence[str], url: str, startup_timeout_s: float = 120.0) -> None:
        self.cmd = list(cmd)
        self.url = url.rstrip("/")
        self.startup_timeout_s = startup_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    def __enter__(self) -> ServerProcess:
        self._refuse_busy_port()
        fd, name = tempfile.mkstemp(prefix="feedmix-bench-server-", suffix=".log")
        self.log_path = Path(name)
        with os.fdopen(fd, "wb") as log:
            self.proc = subprocess.Popen(
                self.cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=(os.name == "posix"),
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    def _refuse_busy_port(self) -> None:
        # Something already answering on the port would pass the health check and be benchmarked
        # instead of the server we start, so refuse rather than measure the wrong process.
        parsed = httpx.URL(self.url)
        host, port = parsed.host, parsed.port or 80
        try:
            probe = socket.create_connection((host, port), timeout=0.5)
        except OSError:
            return  # nothing there: the port is ours to use
        probe.close()
        raise RuntimeError(f"something is already listening on {host}:{port}; stop it or use another port")

    def log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-_LOG_TAIL_CHARS:]

    def _wait_healthy(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.startup_timeout_s
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while True:
                code = self.proc.poll()
                if code is not None:
                    raise RuntimeError(
                        f"server exited with status {code} before becoming healthy "
                        f"(log: {self.log_path}):\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.url + "/healthz").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"server not healthy at {self.url}/healthz after {self.startup_timeout_s:.0f} s "
                        f"(log: {self.log_path}):\n{self.log_tail()}"
                    )
                time.sleep(_HEALTH_POLL_S)

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after a grace period."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        self._signal(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self._signal(proc, signal.SIGKILL if os.name == "posix" else signal.SIGTERM)
            proc.wait(timeout=_STOP_GRACE_S)

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if os.name == "posix":
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)


@contextlib.contextmanager
def _bar(desc: str, total_s: float, enabled: bool) -> Iterator[ProgressCallback | None]:
    """A tqdm bar over seconds on stderr (stdout is left for the JSON report), or nothing."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(
        total=total_s,
        desc=desc,
        file=sys.stderr,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s",
        leave=desc != "warm-up",
    )

    def update(seconds: float) -> None:
        bar.n = seconds
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()


async def _scrape(client: httpx.AsyncClient, url: str) -> tuple[Snapshot | None, str | None]:
    """(snapshot, None) or (None, why it could not be had): the latency run is still worth reporting."""
    try:
        response = await client.get(url + "/metrics")
    except httpx.HTTPError as exc:
        return None, f"GET /metrics failed: {type(exc).__name__}: {exc}"
    if response.status_code != 200:
        return None, f"GET /metrics returned {response.status_code}"
    try:
        return parse_snapshot(response.text), None
    except ValueError as exc:
        return None, f"could not parse /metrics: {exc}"


async def _measure(
    url: str,
    path_for: PathFor,
    rate: float,
    duration_s: float,
    warmup_s: float,
    max_in_flight: int,
    timeout_s: float,
    progress: bool,
) -> tuple[LoadResult, dict[str, Any] | None, str | None]:
    """One server: :func:`measure_targets` with one target."""
    m = await measure_targets(
        [url],
        path_for,
        rate,
        duration_s,
        warmup_s,
        max_in_flight=max_in_flight,
        timeout_s=timeout_s,
        progress=progress,
    )
    base = url.rstrip("/")
    return m.result, m.breakdowns[base], m.metrics_errors.get(base)


@dataclass
class TargetsMeasurement:
    """One open-loop run spread over several servers, and each server's cost in the measured window."""

    result: LoadResult
    #: per base URL: ``server_breakdown`` of its two scrapes (None where ``/metrics`` was unusable)
    breakdowns: dict[str, dict[str, Any] | None]
    #: per base URL: why its breakdown is missing
    metrics_errors: dict[str, str]

    def server_cpu_s(self) -> float | None:
        """CPU seconds all servers spent in the window; None unless every server reported it."""
        values = [b.get("server_cpu_s") if b else None for b in self.breakdowns.values()]
        if not values or any(v is None for v in values):
            return None
        return float(sum(v for v in values if v is not None))

    def server_cpu_ms_per_request(self) -> float | None:
        """All servers' CPU over the window divided by the requests sent to any of them."""
        cpu = self.server_cpu_s()
        return cpu / self.result.sent * 1000.0 if cpu is not None and self.result.sent else None


async def measure_targets(
    base_urls: Sequence[str],
    path_for: PathFor,
    rate: float,
    duration_s: float,
    warmup_s: float,
    *,
    max_in_flight: int = 256,
    timeout_s: float = 10.0,
    progress: bool = False,
    label: str = "measure",
) -> TargetsMeasurement:
    """Open-loop load at a total ``rate`` spread round-robin over ``base_urls`` (see :func:`spread_over`).

    As :func:`run_serving_bench` does for one server: a warm-up run on the same pool, then a
    ``/metrics`` scrape of every server, the measured run, and a second scrape of every server, so
    each breakdown covers the measured window. Every server is divided by the requests it was sent.
    """
    bases = [u.rstrip("/") for u in base_urls]
    spread = spread_over(bases, path_for)
    async with make_client(max_in_flight, timeout_s) as client:

        async def load(seconds: float, on_progress: ProgressCallback | None) -> LoadResult:
            return await run_load(
                bases[0],
                spread,
                rate,
                seconds,
                client=client,
                max_in_flight=max_in_flight,
                on_progress=on_progress,
            )

        if warmup_s > 0:
            with _bar("warm-up", warmup_s, progress) as cb:
                await load(warmup_s, cb)
        before = {u: await _scrape(client, u) for u in bases}
        with _bar(label, duration_s, progress) as cb:
            result = await load(duration_s, cb)
        after = {u: await _scrape(client, u) for u in bases}
    breakdowns: dict[str, dict[str, Any] | None] = {}
    errors: dict[str, str] = {}
    for k, u in enumerate(bases):
        (b, why_b), (a, why_a) = before[u], after[u]
        # requests sent to server k: every len(bases)-th of the measured window, which starts at
        # the first index after the warm-up; the dropped ones are spread evenly enough to ignore
        sent = len(range(k, result.sent, len(bases)))
        if b is None or a is None:
            breakdowns[u] = None
            errors[u] = why_b or why_a or "no /metrics"
        else:
            breakdowns[u] = server_breakdown(b, a, sent)
    return TargetsMeasurement(result, breakdowns, errors)


def run_serving_bench(
    url: str | None,
    rate: float,
    duration_s: float,
    warmup_s: float,
    users: list[str],
    limit: int = 25,
    start_server_cmd: list[str] | None = None,
    progress: bool = True,
    *,
    plot_path: str | Path | None = None,
    feed_path: str = "/v1/feed",
    max_in_flight: int = 256,
    timeout_s: float = 10.0,
    startup_timeout_s: float = 120.0,
) -> dict[str, Any]:
    """Benchmark the feed endpoint at a fixed arrival rate and return a JSON-serialisable report.

    With ``url=None`` the server is started from ``start_server_cmd`` (its ``--host``/``--port``
    give the URL), awaited on ``/healthz`` for up to ``startup_timeout_s`` and stopped at the end,
    also on errors and Ctrl-C.  Must be called outside a running event loop (it uses
    :func:`asyncio.run`).  See :func:`feedmix.bench.server_metrics.server_breakdown` for what the
    ``server_cpu_ms_per_request``, ``pipeline_ms_mean``, ``stages`` and ``components`` mean; they
    are ``None``/empty, with ``server_metrics_error`` saying why, when ``/metrics`` is unusable.
    """
    # Fail on nonsense before spending up to two minutes starting a server.
    if not (rate > 0 and math.isfinite(rate)) or not duration_s > 0 or warmup_s < 0:
        raise ValueError(
            f"need rate > 0, duration_s > 0, warmup_s >= 0; got {rate}, {duration_s}, {warmup_s}"
        )
    path_for = feed_path_for(users, limit, feed_path)
    if url is None:
        if not start_server_cmd:
            raise ValueError("either url or start_server_cmd is required")
        target = url_from_server_cmd(start_server_cmd)
        with ServerProcess(start_server_cmd, target, startup_timeout_s):
            measured = _run(target, path_for, rate, duration_s, warmup_s, max_in_flight, timeout_s, progress)
    else:
        target = url.rstrip("/")
        measured = _run(target, path_for, rate, duration_s, warmup_s, max_in_flight, timeout_s, progress)
    result, breakdown, metrics_error = measured
    return _report(
        target,
        url is None,
        warmup_s,
        result,
        breakdown,
        metrics_error,
        limit,
        len(users),
        timeout_s,
        plot_path,
    )


def _run(
    url: str,
    path_for: PathFor,
    rate: float,
    duration_s: float,
    warmup_s: float,
    max_in_flight: int,
    timeout_s: float,
    progress: bool,
) -> tuple[LoadResult, dict[str, Any] | None, str | None]:
    return asyncio.run(
        _measure(url, path_for, rate, duration_s, warmup_s, max_in_flight, timeout_s, progress)
    )


def _report(
    target: str,
    started_server: bool,
    warmup_s: float,
    result: LoadResult,
    breakdown: dict[str, Any] | None,
    metrics_error: str | None,
    limit: int,
    n_users: int,
    timeout_s: float,
    plot_path: str | Path | None,
) -> dict[str, Any]:
    server: dict[str, Any] = breakdown or {
        "caches": {},
        "server_cpu_s": None,
        "server_cpu_ms_per_request": None,
        "pipeline_ms_mean": None,
        "pipelines": {},
        "stages": {},
        "components": {},
        "component_cpu": [],
    }
    report: dict[str, Any] = {
        "target": target,
        "server_started_by_bench": started_server,
        "rate_rps": result.rate_rps,
        "duration_s": result.duration_s,
        "warmup_s": warmup_s,
        "users": n_users,
        "limit": limit,
        "requests": result.requests,
        "ok": result.ok,
        "errors": dict(result.errors),
        "achieved_rps": result.achieved_rps,
        "latency_ms": result.latency.as_dict(),
        "service_ms": result.service.as_dict(),
        "server_cpu_ms_per_request": server["server_cpu_ms_per_request"],
        "server_cpu_s": server["server_cpu_s"],
        "caches": server["caches"],
        "pipeline_ms_mean": server["pipeline_ms_mean"],
        "pipelines": server["pipelines"],
        "stages": server["stages"],
        "components": server["components"],
        "component_cpu": server["component_cpu"],
        "server_metrics_error": metrics_error,
        "warnings": result.warnings(),
        "load_generator": {
            "open_loop": True,
            "max_in_flight": result.max_in_flight,
            "peak_in_flight": result.peak_in_flight,
            "timeout_s": timeout_s,
            "elapsed_s": result.elapsed_s,
            "dispatch_lag_ms": result.dispatch_lag_ms.as_dict(),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
        },
        "plot": None,
    }
    if plot_path is not None:
        series = {"from schedule": result.latencies_ms, "service time": result.service_ms}
        title = f"{target} at {result.rate_rps:g} req/s"
        if write_latency_plot(plot_path, series, title):
            report["plot"] = str(plot_path)
        else:
            report["plot_skipped"] = "matplotlib is not installed"
    return report

"""run_serving_bench end to end against the fake feed server, in-process and as a subprocess.

The fake server charges fixed amounts to the real metric names per feed request (see
``bench_fake_server``), so the server-side numbers have exact expected values, which also proves
that the warm-up stays out of the window and the last scrape waits for the last request.
"""

from __future__ import annotations

import json
import re
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from bench_fake_server import (
    FEED_COST,
    PIPELINE_CPU_S,
    PIPELINE_WALL_S,
    PROCESS_CPU_S,
    FakeServer,
    free_port,
)

import feedmix.bench.serving as serving
from feedmix.bench.plot import matplotlib_available
from feedmix.bench.serving import feed_path_for, run_serving_bench, url_from_server_cmd

FAKE_SERVER = str(Path(__file__).with_name("bench_fake_server.py"))


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _assert_exact_server_cost(report: dict[str, Any]) -> None:
    sent = report["requests"] - report["errors"].get("dropped", 0)
    assert report["server_metrics_error"] is None
    assert report["server_cpu_s"] == pytest.approx(sent * PROCESS_CPU_S)
    assert report["server_cpu_ms_per_request"] == pytest.approx(PROCESS_CPU_S * 1000)
    assert report["pipeline_ms_mean"] == pytest.approx(PIPELINE_WALL_S * 1000)
    assert report["pipelines"]["home"] == pytest.approx(
        {"runs": sent, "wall_ms": PIPELINE_WALL_S * 1000, "cpu_ms": PIPELINE_CPU_S * 1000}
    )
    for stage, (wall, cpu, components) in FEED_COST.items():
        assert report["stages"]["home"][stage] == pytest.approx(
            {"runs": sent, "wall_ms": wall * 1000, "cpu_ms": cpu * 1000}
        )
        for component, (c_wall, c_cpu) in components.items():
            assert report["components"]["home"][stage][component] == pytest.approx(
                {"calls": sent, "wall_ms": c_wall * 1000, "cpu_ms": c_cpu * 1000}
            )


def test_report_against_a_running_server(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.state.feed_users.clear()
    fake_server.state.feed_limits.clear()
    users = ["u0001", "u 2/&x"]  # the second one needs URL escaping
    plot = tmp_path / "latency.png"
    report = run_serving_bench(
        fake_server.url + "/",
        rate=100.0,
        duration_s=1.0,
        warmup_s=0.3,
        users=users,
        limit=7,
        progress=False,
        plot_path=plot,
    )
    json.dumps(report, allow_nan=False)  # must be plain JSON, no numpy scalars or NaN

    assert report["target"] == fake_server.url
    assert report["server_started_by_bench"] is False
    assert (report["rate_rps"], report["duration_s"], report["warmup_s"]) == (100.0, 1.0, 0.3)
    assert report["requests"] == pytest.approx(100, abs=1)
    assert report["ok"] + sum(report["errors"].values()) == report["requests"]
    assert set(report["latency_ms"]) >= {"p50", "p90", "p99", "p99_9", "max"}
    assert set(report["service_ms"]) >= {"p50", "p90", "p99", "p99_9", "max"}
    assert report["latency_ms"]["p50"] >= 1.0  # the feed route sleeps 1 ms
    assert report["machine"]["cpus"] is not None and report["machine"]["python"]
    _assert_exact_server_cost(report)

    # Users are cycled evenly (warm-up included: 130 requests) and escaped correctly.
    assert set(fake_server.state.feed_users) == set(users)
    counts = list(fake_server.state.feed_users.values())
    assert max(counts) - min(counts) <= 1
    assert set(fake_server.state.feed_limits) == {"7"}

    if matplotlib_available():
        assert report["plot"] == str(plot) and plot.stat().st_size > 0
    else:
        assert report["plot"] is None
        assert "matplotlib" in report["plot_skipped"]
        assert not plot.exists()


def test_unusable_metrics_still_give_latencies(fake_server: FakeServer) -> None:
    fake_server.state.metrics_enabled = False
    try:
        report = run_serving_bench(fake_server.url, 50.0, 0.4, 0.0, ["u1"], progress=False)
    finally:
        fake_server.state.metrics_enabled = True
    assert report["server_metrics_error"] == "GET /metrics returned 404"
    assert report["server_cpu_ms_per_request"] is None
    assert report["stages"] == {}
    assert report["latency_ms"]["p50"] is not None
    assert "plot_skipped" not in report and report["plot"] is None


def test_starts_waits_for_and_stops_the_server(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    cmd = [sys.executable, FAKE_SERVER, "--host", "127.0.0.1", "--port", str(port)]
    report = run_serving_bench(None, 50.0, 0.5, 0.2, ["a", "b", "c"], start_server_cmd=cmd, progress=True)
    assert report["target"] == f"http://127.0.0.1:{port}"
    assert report["server_started_by_bench"] is True
    _assert_exact_server_cost(report)
    assert not _listening(port)
    # The progress bar goes to stderr; stdout stays clean for the JSON report.
    out, err = capsys.readouterr()
    assert out == ""
    assert "measure" in err


def test_server_is_stopped_when_the_run_is_interrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(serving, "_run", interrupted)
    port = free_port()
    cmd = [sys.executable, FAKE_SERVER, "--port", str(port)]
    with pytest.raises(KeyboardInterrupt):
        run_serving_bench(None, 10.0, 1.0, 0.0, ["a"], start_server_cmd=cmd, progress=False)
    assert not _listening(port)


def test_a_server_that_dies_at_startup_is_reported_with_its_output() -> None:
    cmd = [sys.executable, "-c", "print('no data to load'); raise SystemExit(3)", "--port", str(free_port())]
    with pytest.raises(RuntimeError, match=r"(?s)status 3.*no data to load") as failure:
        run_serving_bench(None, 10.0, 1.0, 0.0, ["a"], start_server_cmd=cmd, progress=False)
    log = re.search(r"\(log: (.+?)\)", str(failure.value))
    assert log is not None
    kept = Path(log.group(1))
    assert "no data to load" in kept.read_text()  # kept for a post-mortem
    kept.unlink()


def test_refuses_to_benchmark_whatever_already_holds_the_port(fake_server: FakeServer) -> None:
    port = int(fake_server.url.rsplit(":", 1)[1])
    cmd = [sys.executable, FAKE_SERVER, "--port", str(port)]
    with pytest.raises(RuntimeError, match="already listening"):
        run_serving_bench(None, 10.0, 1.0, 0.0, ["a"], start_server_cmd=cmd, progress=False)


def test_url_from_server_cmd() -> None:
    assert (
        url_from_server_cmd(["x", "demo", "--port", "18123", "--host", "127.0.0.1"])
        == "http://127.0.0.1:18123"
    )
    assert url_from_server_cmd(["x", "--port=9000"]) == "http://127.0.0.1:9000"
    assert url_from_server_cmd(["x", "--host", "0.0.0.0", "--port", "1"]) == "http://127.0.0.1:1"
    assert url_from_server_cmd(["x", "--host=::", "--port", "1"]) == "http://[::1]:1"
    with pytest.raises(ValueError, match="--port"):
        url_from_server_cmd(["x", "demo"])


def test_argument_errors() -> None:
    with pytest.raises(ValueError, match="users"):
        feed_path_for([], 25)
    with pytest.raises(ValueError, match="start_server_cmd"):
        run_serving_bench(None, 10.0, 1.0, 0.0, ["a"], progress=False)
    assert feed_path_for(["a", "b"], 5)(3) == "/v1/feed?user_id=b&limit=5"
    # Checked before a server would be started (this command would fail if it were run).
    with pytest.raises(ValueError, match="rate"):
        run_serving_bench(
            None, 0.0, 1.0, 0.0, ["a"], start_server_cmd=["false", "--port", "1"], progress=False
        )

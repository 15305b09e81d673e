"""The open-loop load generator against a real local HTTP server.

The machine running the tests is shared and noisy, so nothing here asserts how fast it is: only
counts fixed by the schedule, lower bounds that a sleeping server guarantees, and orderings that
hold however slow the machine happens to be.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from bench_fake_server import FakeServer, free_port

from feedmix.bench.load import DROPPED, run_load


def test_schedule_fixes_the_request_count_and_warmup_is_not_recorded(fake_server: FakeServer) -> None:
    rate, warmup, duration, sleep_ms = 100.0, 0.5, 1.5, 5
    progress: list[float] = []
    result = asyncio.run(
        run_load(
            fake_server.url,
            lambda i: f"/sleep?ms={sleep_ms}&tag=count",
            rate,
            duration,
            warmup,
            on_progress=progress.append,
        )
    )
    # Request i is due at i/rate: 50 due in the warm-up, 150 in the measured window.
    assert result.requests == pytest.approx(rate * duration, abs=1)
    assert fake_server.state.tags["count"] == pytest.approx(rate * (warmup + duration), abs=1)
    assert result.ok + result.error_count == result.requests
    assert result.errors == {}
    assert result.latencies_ms.shape == result.service_ms.shape == result.scheduled_s.shape == (result.ok,)
    assert result.scheduled_s.min() >= 0.0
    assert result.scheduled_s.max() < duration
    # A goodput can never beat the schedule (it is averaged over at least the window).
    assert 0 < result.achieved_rps <= rate * 1.01
    assert result.elapsed_s >= duration
    # Every response took at least the server's sleep, measured either way, and waiting for the
    # send can only add to the latency from schedule.
    assert result.service_ms.min() >= sleep_ms - 0.05
    assert result.latencies_ms.min() >= sleep_ms - 0.05
    assert np.all(result.latencies_ms >= result.service_ms - 1e-6)
    lat = result.latency
    assert lat.p50 is not None and lat.p90 is not None and lat.p99 is not None and lat.p99_9 is not None
    assert lat.p50 <= lat.p90 <= lat.p99 <= lat.p99_9 <= (lat.max or 0.0)
    assert result.summary()["latency_ms"]["p99_9"] == lat.p99_9
    assert progress == sorted(progress)
    assert progress[-1] == duration


def test_non_2xx_responses_are_errors_by_status(fake_server: FakeServer) -> None:
    result = asyncio.run(run_load(fake_server.url, lambda i: "/fail" if i % 2 else "/sleep?ms=1", 100.0, 0.6))
    assert set(result.errors) == {"http_500"}
    assert result.errors["http_500"] == pytest.approx(result.requests / 2, abs=1)
    assert result.ok + result.errors["http_500"] == result.requests
    # Error responses carry no latency sample: the arrays only hold the successful requests.
    assert result.latencies_ms.size == result.ok


def test_connection_failures_are_errors_not_crashes() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = asyncio.run(run_load(dead, lambda i: "/", 50.0, 0.3, timeout_s=2.0))
    assert result.ok == 0
    assert result.errors == {"connect_error": result.requests}
    assert result.latency.p99 is None
    assert result.achieved_rps == 0.0


def test_requests_beyond_the_in_flight_cap_are_dropped(fake_server: FakeServer) -> None:
    result = asyncio.run(run_load(fake_server.url, lambda i: "/sleep?ms=300", 50.0, 1.0, max_in_flight=2))
    assert result.peak_in_flight <= 2
    assert result.errors.get(DROPPED, 0) > 0
    assert result.ok >= 2
    assert result.ok + result.errors[DROPPED] == result.requests
    assert result.sent == result.ok
    assert any("dropped" in w for w in result.warnings())
    assert any("achieved" in w for w in result.warnings())


def test_latency_from_schedule_exposes_what_service_time_hides(fake_server: FakeServer) -> None:
    """Coordinated omission: one 300 ms stall on the only connection delays the requests behind it.

    Their service time (from the moment they got onto the connection) stays short, which is what a
    closed-loop benchmark would report; their latency from schedule includes the wait.
    """
    rate, stall_ms, stall_index = 50.0, 300, 20
    result = asyncio.run(
        run_load(
            fake_server.url,
            lambda i: f"/sleep?ms={stall_ms}" if i == stall_index else "/sleep?ms=1",
            rate,
            2.0,
            max_connections=1,
        )
    )
    assert result.errors == {}
    # The stalled request is the one with the longest service time, long either way.
    k = int(np.argmax(result.service_ms))
    assert result.service_ms[k] >= stall_ms - 0.05
    assert result.latencies_ms[k] >= result.service_ms[k]
    # With a single connection nothing due after the stall went out can be sent before it ends, so
    # requests due in the stall's first half each wait at least half the stall before going out;
    # their service time does not show that wait.  (The pool is not strictly FIFO, hence locating
    # the stall by when it was really sent rather than by its index.)
    sent_at = result.scheduled_s[k] + (result.latencies_ms[k] - result.service_ms[k]) / 1000.0
    behind = (result.scheduled_s > sent_at) & (result.scheduled_s < sent_at + stall_ms / 2000.0)
    assert behind.sum() >= 5
    waited = result.latencies_ms[behind] - result.service_ms[behind]
    assert waited.min() >= stall_ms / 2 - 1.0
    # Those requests (~7 % of the sample) lift the scheduled p99 far above the service-time p99,
    # where the stalled request alone is 1 %.
    assert result.latency.p99 is not None and result.service.p99 is not None
    assert result.latency.p99 >= stall_ms / 2 - 1.0
    assert result.latency.p99 > 3 * result.service.p99
    assert result.latency.p50 is not None and result.service.p50 is not None
    assert result.latency.p50 >= result.service.p50


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 0.0}, "rate"),
        ({"rate": float("inf")}, "rate"),
        ({"duration_s": 0.0}, "duration_s"),
        ({"warmup_s": -1.0}, "warmup_s"),
        ({"max_in_flight": 0}, "max_in_flight"),
    ],
)
def test_nonsense_parameters_are_rejected(kwargs: dict[str, float], message: str) -> None:
    args: dict[str, float] = {"rate": 10.0, "duration_s": 1.0, "warmup_s": 0.0} | kwargs
    with pytest.raises(ValueError, match=message):
        asyncio.run(run_load("http://127.0.0.1:1", lambda i: "/", **args))

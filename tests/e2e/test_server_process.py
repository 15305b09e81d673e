"""End to end: the real server process, started as a newcomer would, serving several users."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from feedmix import cli

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(args: list[str], state: Path) -> tuple[subprocess.Popen[str], str]:
    """Start ``feedmix <args> --port N`` and wait until it is healthy."""
    port = free_port()
    env = {**os.environ, "FEEDMIX_STATE_DIR": str(state)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "feedmix.cli", *args, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("server did not become healthy")
        time.sleep(0.2)


def stop_server(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


GRPC: dict[str, str] = {}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The demo server as a newcomer starts it (its gRPC service on a free port), and its state."""
    state = tmp_path_factory.mktemp("server-state")
    grpc_port = free_port()
    proc, url = start_server(["demo", "--users", "500", "--grpc-port", str(grpc_port)], state)
    GRPC["address"] = f"127.0.0.1:{grpc_port}"
    yield url, state
    stop_server(proc)
    assert Path(state, "events.db").exists()


@pytest.fixture(scope="module")
def server(demo: tuple[str, Path]) -> str:
    return demo[0]


def test_feeds_for_several_users(server: str) -> None:
    with httpx.Client(base_url=server, timeout=10) as c:
        firsts = {}
        for user in ["u0001", "u0002", "u0042", "u0499", "brand-new-user"]:
            r = c.get("/v1/feed", params={"user_id": user, "limit": 20})
            assert r.status_code == 200, r.text
            body = r.json()
            posts = [it for it in body["items"] if it["kind"] == "post"]  # ads come on top of the limit
            assert len(posts) == 20 and not body["degraded"]
            assert body["user"]["cold_start"] == (user == "brand-new-user")
            firsts[user] = [it["id"] for it in posts]
        # personalised: different users with different communities see different feeds
        assert len({tuple(v) for v in firsts.values()}) >= 4


def test_events_then_feed_over_http(server: str) -> None:
    with httpx.Client(base_url=server, timeout=10) as c:
        body = c.get("/v1/feed", params={"user_id": "u0100", "limit": 10}).json()
        events = [
            {
                "event_id": uuid.uuid4().hex,
                "type": "impression",
                "user_id": "u0100",
                "post_id": it["id"],
                "position": it["position"],
                "request_id": body["request_id"],
            }
            for it in body["items"]
            if it["kind"] == "post"  # ad items report to /v1/ads/events with their ad_token
        ]
        r = c.post("/v1/events", json={"events": events})
        assert r.status_code == 202 and r.json()["accepted"] == 10
        again = c.get("/v1/feed", params={"user_id": "u0100", "limit": 10}).json()

        def post_ids(page: dict[str, Any]) -> set[str]:
            return {it["id"] for it in page["items"] if it["kind"] == "post"}

        assert not post_ids(body) & post_ids(again)  # seen posts are not served again (ads may repeat)
        assert "feedmix_pipeline_requests_total" in c.get("/metrics").text
        assert c.get("/").status_code == 200


def test_graphql_over_http_on_the_running_demo(server: str) -> None:
    """The demo's GraphQL: a home feed whose edges mix posts and ads, each saying why, the events
    mutation, and a persisted document sent by hash."""
    from feedmix.serving.graphql_api.persisted import OPERATIONS_DIR, digest

    home = (OPERATIONS_DIR / "HomeFeed.graphql").read_text()
    with httpx.Client(base_url=server, timeout=20) as c:
        r = c.post("/graphql", json={"query": home, "variables": {"userId": "u0101", "first": 25}})
        assert r.status_code == 200, r.text
        feed = r.json()["data"]["feed"]
        kinds = [e["node"]["__typename"] for e in feed["edges"]]
        assert kinds.count("Post") == 25 and "Ad" in kinds  # ads come on top of the page
        ad = next(e["node"] for e in feed["edges"] if e["node"]["__typename"] == "Ad")
        assert ad["adToken"] and ad["why"]["ecpm"] > 0 and ad["why"]["slotRule"]
        post = next(e["node"] for e in feed["edges"] if e["node"]["__typename"] == "Post")
        assert post["why"]["source"] and post["community"]["name"] == post["communityName"]
        mutation = (OPERATIONS_DIR / "RecordEvents.graphql").read_text()
        event = {"eventId": uuid.uuid4().hex, "type": "IMPRESSION", "userId": "u0101", "postId": post["id"]}
        r = c.post(
            "/graphql",
            json={"documentId": f"sha256:{digest(mutation)}", "variables": {"events": [event]}},
        )
        assert r.json()["data"]["recordEvents"] == {"accepted": 1, "duplicates": 0}


def test_grpc_beside_rest_on_the_running_demo(server: str) -> None:
    """A real gRPC client against the demo process: a feed page with ads, then its posts re-ranked."""
    import grpc

    from feedmix.serving.grpc_api.generated import ranking_pb2 as pb
    from feedmix.serving.grpc_api.generated.ranking_pb2_grpc import RankingStub

    with grpc.insecure_channel(GRPC["address"]) as channel:
        stub = RankingStub(channel)
        page = stub.GetFeed(pb.GetFeedRequest(user_id="u0102", limit=25), timeout=20)
        kinds = [it.kind for it in page.items]
        assert kinds.count("post") == 25 and "ad" in kinds
        ad = next(it for it in page.items if it.kind == "ad")
        assert ad.ad.ad_token and ad.ad.ecpm > 0
        ids = [it.id for it in page.items if it.kind == "post"]
        ranked = stub.RankCandidates(pb.RankCandidatesRequest(user_id="u0102", post_ids=ids), timeout=20)
        assert {p.post_id for p in ranked.posts} | set(ranked.filtered_post_ids) == set(ids)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feedmix.cli", *args], capture_output=True, text=True, timeout=180
    )


def test_simulate_cli_drives_the_server(server: str) -> None:
    out = _cli("simulate", "--url", server, "--sessions", "8", "--seed", "3", "--quiet")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["sessions"] == 8 and report["errors"] == {}
    assert report["impressions"] > 0 and report["events_accepted"] == report["events_sent"]
    with httpx.Client(base_url=server) as c:
        metrics = c.get("/metrics").text
    assert 'feedmix_ingest_events_total{result="accepted"}' in metrics


def test_feed_cli_explains_over_http(server: str) -> None:
    out = _cli("feed", "u0003", "--explain", "--limit", "5", "--url", server)
    assert out.returncode == 0, out.stderr
    assert "source=" in out.stdout and "quality=" in out.stdout and "stages:" in out.stdout
    assert out.stdout.count("r/") >= 5


def test_cli_help_lists_every_command() -> None:
    out = _cli("--help")
    assert out.returncode == 0
    for cmd in ("demo", "serve", "feed", "simulate", "bench"):
        assert cmd in out.stdout


def test_serve_with_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "feedmix.toml"
    config.write_text(
        f'[users]\ncount = 100\n[stores]\nstate_dir = "{tmp_path}"\n'
        '[pipelines.home.params]\n"trending.limit" = 42\n'
    )
    proc, url = start_server(["serve", "--config", str(config)], tmp_path)
    try:
        params = httpx.get(url + "/v1/params", params={"pipeline": "home"}).json()["params"]
        assert next(p for p in params if p["name"] == "trending.limit")["default"] == 42
        assert httpx.get(url + "/healthz").json()["users"] == 100
    finally:
        stop_server(proc)
    assert (tmp_path / "events.db").exists()


def test_bench_load_against_the_running_server(server: str, tmp_path: Path) -> None:
    out, plot = tmp_path / "load.json", tmp_path / "load.png"
    argv = ["bench", "load", "--url", server, "--rate", "20", "--duration", "2", "--warmup", "0.5"]
    argv += ["--users", "10", "--out", str(out), "--plot", str(plot), "--quiet"]
    assert cli.main(argv) == 0
    report = json.loads(out.read_text())
    assert report["ok"] == report["requests"] > 0 and report["errors"] == {}
    assert report["latency_ms"]["p99_9"] >= report["latency_ms"]["p50"] > 0
    assert report["server_cpu_ms_per_request"] is not None and report["component_cpu"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_experiments_and_the_shadow_against_the_running_demo(demo: tuple[str, Path]) -> None:
    url, state = demo
    env = {**os.environ, "FEEDMIX_STATE_DIR": str(state)}  # the CLI finds the demo's operator key there
    env.pop("FEEDMIX_OPERATOR_KEY", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "feedmix.cli", *args], capture_output=True, text=True, timeout=180, env=env
        )

    made = run(
        "experiments", "--url", url, "create", "--id", "e2e-fresh", "--hypothesis", "fresher engages",
        "--layer", "e2e", "--variant", "control", "--variant", "fresher:heuristic_scorer.w_freshness=3",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert run("experiments", "--url", url, "start", "e2e-fresh").returncode == 0
    time.sleep(2.5)  # the demo's assigner checks the store every 2 s
    seen = set()
    with httpx.Client(base_url=url, timeout=10) as c:
        for i in range(1, 61):
            body = c.get("/v1/feed", params={"user_id": f"u{i:04d}", "limit": 10}).json()
            seen |= {e["variant"] for e in body["experiments"] if e["experiment"] == "e2e-fresh"}
    assert seen == {"control", "fresher"}
    analysis = run("experiments", "--url", url, "analyze", "e2e-fresh")
    assert analysis.returncode == 0, analysis.stderr
    assert "engagement_per_user" in analysis.stdout and "latency_p99_ms" in analysis.stdout

    # the demo shadows a tenth of its home feeds: its records show every metric beside its noise
    records = state / "shadow" / "no_freshness" / "records.jsonl"
    deadline = time.monotonic() + 30
    while not (records.exists() and records.read_text().count("\n") >= 3) and time.monotonic() < deadline:
        time.sleep(0.2)
    report = run("shadow", "report", "no_freshness", "--records", str(records))
    assert report.returncode == 0, report.stderr
    assert "| rbo |" in report.stdout and "noise" in report.stdout

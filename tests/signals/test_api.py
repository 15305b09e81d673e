"""The signals API through the service: posts in over HTTP, labelled by the streaming pass within
seconds, their values read back; the registry; bad input refused with the field named."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedmix.config import FeedmixConfig
from feedmix.serving.app import create_app
from feedmix.serving.runtime import Runtime
from feedmix.signals.post_signal_table import PostSignalTable


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    state = tmp_path_factory.mktemp("state")
    rt = Runtime.build(FeedmixConfig(state_dir=str(state), users=100))
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


def _wait_for(client: TestClient, post_id: str, timeout_s: float = 10.0) -> dict:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        r = client.get(f"/v1/posts/{post_id}/signals")
        if r.status_code == 200:
            return r.json()
        time.sleep(0.05)
    raise AssertionError(f"post {post_id} not labelled within {timeout_s} s")


def test_a_new_post_is_labelled_within_seconds(client: TestClient) -> None:
    body = {
        "posts": [
            {"id": "new1", "subreddit": "headphones", "title": "Sennheiser HD600 vs Beyerdynamic DT880?"},
            {"id": "new2", "subreddit": "pics", "title": "😂😂😂"},
        ]
    }
    r = client.post("/v1/posts", json=body)
    assert r.status_code == 202 and r.json() == {"accepted": 2, "duplicates": 0}
    got = client.get("/v1/posts/new1/signals", params={"wait": 10}).json()  # held until labelled
    assert got["intent"] == "comparison" and got["commercial"] is True
    assert got["labelled_at"] - got["received_at"] < 10 and got["model_version"]
    assert _wait_for(client, "new2")["gate"] == "emoji_only"
    again = client.post("/v1/posts", json=body)
    assert again.json() == {"accepted": 0, "duplicates": 2}  # retries are idempotent
    status = client.get("/v1/signals/stream").json()
    assert status["enabled"] and set(status["lag"].values()) == {0}


@pytest.mark.parametrize(
    ("post", "field"),
    [
        ({"subreddit": "pics", "title": "no id"}, "id"),
        ({"id": "x1", "subreddit": "bad name!", "title": "t"}, "subreddit"),
        ({"id": "x2", "subreddit": "pics", "title": 7}, "title"),
        ({"id": "x3", "subreddit": "pics", "selftext": "a" * 200_001}, "selftext"),
        ({"id": "x4", "subreddit": "pics", "over_18": "yes"}, "over_18"),
        ({"id": "x5", "subreddit": "pics", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_post_is_refused_with_its_field_named(client: TestClient, post: dict, field: str) -> None:
    r = client.post("/v1/posts", json={"posts": [{"id": "fine", "subreddit": "pics"}, post]})
    assert r.status_code == 422
    assert any(field in [str(x) for x in d["loc"]] for d in r.json()["detail"])
    assert client.get("/v1/posts/fine/signals").status_code == 404  # nothing of a refused batch is kept


def test_a_huge_post_is_accepted_and_cut(client: TestClient) -> None:
    r = client.post(
        "/v1/posts", json={"posts": [{"id": "huge1", "subreddit": "buildapc", "selftext": "GPU? " * 20_000}]}
    )
    assert r.status_code == 202
    assert _wait_for(client, "huge1")["gate"] == "too_long"


def test_the_registry_over_http(client: TestClient) -> None:
    listed = client.get("/v1/signals").json()
    assert {s["name"] for s in listed} >= {"intent", "brand_safety"}
    one = client.get("/v1/signals/intent").json()
    assert one["version"] == "1.0.0" and "slo" in one and "slo_status" in one
    assert client.get("/v1/signals/mood").status_code == 404


def test_unknown_post_is_404(client: TestClient) -> None:
    assert client.get("/v1/posts/never-sent/signals").status_code == 404


def test_the_state_folder_keeps_the_stream_checkpoint(client: TestClient, runtime: Runtime) -> None:
    client.post("/v1/posts", json={"posts": [{"id": "ck1", "subreddit": "pics", "title": "A cat"}]})
    _wait_for(client, "ck1")
    checkpoints = list((Path(runtime.config.state_dir) / "signals" / "stream").glob("*.offset"))
    assert checkpoints and int(checkpoints[0].read_text()) >= 1


def test_insights_wait_for_the_corpus_signals_then_answer(client: TestClient, runtime: Runtime) -> None:
    assert runtime.corpus_signals is not None  # [signals] corpus = "archive": no archive here, so unrated
    assert client.get("/v1/signals/insights", params={"community": "buildapc"}).status_code == 503
    table = PostSignalTable.empty(len(runtime.corpus))
    table.intent[:] = 1
    table.category[:] = 1
    runtime.corpus_signals.table = table
    r = client.get("/v1/signals/insights", params={"community": "buildapc", "period": "year"})
    assert r.status_code == 200, r.text
    body = r.json()
    rows = runtime.corpus.community_rows(runtime.corpus.community_id("buildapc"))
    assert body["labelled_posts"] == len(rows)
    assert sum(p["intents"]["recommendation_request"] for p in body["periods"]) == len(rows)
    assert client.get("/v1/signals/insights", params={"community": "nope"}).status_code == 404
    post_id = runtime.corpus.id_str[int(rows[0])]
    one = client.get(f"/v1/posts/{post_id}/signals").json()
    assert (
        one["intent"] == "recommendation_request"
        and one["category"] == "Computers"
        and one["tier"] == "corpus"
    )
    assert (
        client.get("/v1/signals/insights", params={"community": "buildapc", "period": "x"}).status_code == 422
    )
    runtime.corpus_signals.table = None

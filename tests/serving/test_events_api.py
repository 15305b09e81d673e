"""Events through the HTTP ingestion path: durable, idempotent, validated as a whole."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from feedmix.events.sqlite_event_log import SqliteEventLog
from feedmix.serving.runtime import Runtime


def event(**kw: Any) -> dict[str, Any]:
    base = {"event_id": uuid.uuid4().hex, "type": "impression", "user_id": "u0010", "post_id": "xbfwb"}
    base.update(kw)
    return base


def test_accepted_events_are_in_the_durable_log(client: TestClient, runtime: Runtime) -> None:
    before = runtime.event_log.count()
    batch = [event(), event(type="click"), event(type="upvote")]
    r = client.post("/v1/events", json={"events": batch})
    assert r.status_code == 202 and r.json() == {"accepted": 3, "duplicates": 0}
    # a second, independent connection to the same file sees them: they are committed
    path = runtime.config.event_log[len("sqlite:///") :]
    other = SqliteEventLog(path)
    try:
        assert other.count() == before + 3
        ids = {e.event_id for _, e in other.read(after=0, limit=100_000)}
        assert {b["event_id"] for b in batch} <= ids
    finally:
        other.close()


def test_resending_a_batch_is_idempotent(client: TestClient, runtime: Runtime) -> None:
    batch = [event(), event()]
    assert client.post("/v1/events", json={"events": batch}).json() == {"accepted": 2, "duplicates": 0}
    before = runtime.event_log.count()
    assert client.post("/v1/events", json={"events": batch}).json() == {"accepted": 0, "duplicates": 2}
    assert runtime.event_log.count() == before


def test_one_bad_event_rejects_the_batch_and_writes_nothing(client: TestClient, runtime: Runtime) -> None:
    before = runtime.event_log.count()
    batch = [event(), event(post_id="NOT A POST"), event()]
    r = client.post("/v1/events", json={"events": batch})
    assert r.status_code == 422
    locs = [d["loc"] for d in r.json()["detail"]]
    assert ["body", "events", 1, "post_id"] in locs
    assert runtime.event_log.count() == before


def test_unknown_event_type_and_extra_fields_are_named(client: TestClient) -> None:
    r = client.post("/v1/events", json={"events": [event(type="teleport")]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "type"
    r = client.post("/v1/events", json={"events": [event(colour="red")]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "colour"
    r = client.post("/v1/events", json={"events": []})
    assert r.status_code == 422


def test_impressions_remove_posts_from_the_next_feed(client: TestClient) -> None:
    first = client.get("/v1/feed", params={"user_id": "u0011", "limit": 10}).json()
    shown = [it["id"] for it in first["items"]]
    events = [
        event(user_id="u0011", post_id=pid, position=i, request_id=first["request_id"])
        for i, pid in enumerate(shown)
    ]
    assert client.post("/v1/events", json={"events": events}).status_code == 202
    # a new scroll session (no cursor): the seen filter, fed by the impressions, removes them
    second = client.get("/v1/feed", params={"user_id": "u0011", "limit": 10}).json()
    assert not set(shown) & {it["id"] for it in second["items"]}
    assert len(second["items"]) == 10

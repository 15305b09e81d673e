"""The ingestion schema: what a client may send, and that mistakes are named precisely."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from feedmix.events.schema import MAX_BATCH, Event, EventBatch

VALID: dict[str, Any] = {"event_id": "e-1", "type": "click", "user_id": "t2_abc", "post_id": "1abc2z"}


def errors_for(**changes: Any) -> list[tuple[tuple[int | str, ...], str]]:
    data = {**VALID, **changes}
    with pytest.raises(ValidationError) as info:
        Event.model_validate(data)
    return [(err["loc"], err["type"]) for err in info.value.errors()]


def test_a_minimal_event_is_valid_and_optional_fields_default_to_none() -> None:
    event = Event.model_validate(VALID)

    assert event.post_id == "1abc2z"
    assert (event.ts, event.request_id, event.position, event.surface) == (None, None, None, None)


def test_a_full_event_round_trips_through_json() -> None:
    full = {**VALID, "ts": 1_700_000_000.5, "request_id": "r" * 64, "position": 10_000, "surface": "s" * 32}
    event = Event.model_validate_json(json.dumps(full))

    assert Event.model_validate_json(event.model_dump_json()) == event
    assert event.model_dump() == full


def test_an_unknown_field_is_rejected_by_name() -> None:
    assert errors_for(**{"post-id": "abc"}) == [(("post-id",), "extra_forbidden")]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", ""),
        ("event_id", "x" * 65),
        ("event_id", "has space"),
        ("event_id", "a/b"),
        ("user_id", ""),
        ("user_id", "ü"),
        ("type", "view"),
        ("post_id", ""),
        ("post_id", "ABC"),
        ("post_id", "0abc"),  # leading zero would alias "abc"
        ("post_id", "a" * 13),
        ("post_id", "t3_abc"),
        ("ts", float("nan")),
        ("ts", float("inf")),
        ("ts", -1.0),
        ("ts", "1700000000"),
        ("ts", True),
        ("position", -1),
        ("position", 10_001),
        ("position", 1.5),
        ("request_id", "r" * 65),
        ("surface", "s" * 33),
    ],
)
def test_invalid_values_are_rejected_with_the_field_named(field: str, value: Any) -> None:
    locs = [loc for loc, _ in errors_for(**{field: value})]
    assert locs and all(loc[0] == field for loc in locs)


@pytest.mark.parametrize("post_id", ["0", "z", "10", "zzzzzzzzzzzz"])
def test_canonical_base36_post_ids_are_accepted(post_id: str) -> None:
    assert Event.model_validate({**VALID, "post_id": post_id}).post_id == post_id


def test_events_are_immutable() -> None:
    event = Event.model_validate(VALID)
    with pytest.raises(ValidationError):
        event.ts = 1.0


def test_batch_size_limits() -> None:
    def batch(n: int) -> dict[str, Any]:
        return {"events": [{**VALID, "event_id": f"e{i}"} for i in range(n)]}

    assert len(EventBatch.model_validate(batch(1)).events) == 1
    assert len(EventBatch.model_validate(batch(MAX_BATCH)).events) == MAX_BATCH
    for n in (0, MAX_BATCH + 1):
        with pytest.raises(ValidationError) as info:
            EventBatch.model_validate(batch(n))
        assert info.value.errors()[0]["loc"] == ("events",)


def test_a_bad_event_in_a_batch_is_located_by_index_and_field() -> None:
    data = {"events": [VALID, {**VALID, "event_id": "e2", "position": -5}], "extra": 1}
    with pytest.raises(ValidationError) as info:
        EventBatch.model_validate(data)
    assert {err["loc"] for err in info.value.errors()} == {("events", 1, "position"), ("extra",)}

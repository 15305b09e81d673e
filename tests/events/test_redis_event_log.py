"""Redis-specific guarantees: key layout for Cluster, failure atomicity, offset robustness."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis
from redis.crc import key_slot

from feedmix.events.backends import open_event_log
from feedmix.events.event_log import AppendResult, EventLogUnavailable
from feedmix.events.redis_event_log import RedisEventLog
from feedmix.events.schema import Event

MakeEvent = Callable[..., Event]


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


def open_log(redis_url: str, prefix: str, extra: str = "") -> RedisEventLog:
    log = open_event_log(f"{redis_url}?stream={prefix}{extra}")
    assert isinstance(log, RedisEventLog)
    return log


def test_all_keys_of_a_log_share_one_cluster_slot_and_dedup_keys_expire(
    redis_url: str, redis_prefix: str, client: redis.Redis, make_event: MakeEvent
) -> None:
    log = open_log(redis_url, redis_prefix, "&dedup_ttl_s=3600")
    log.append([make_event(), make_event()])

    keys = list(client.scan_iter(match=f"*{redis_prefix}*"))
    assert len(keys) == 4  # stream, offset counter, two dedup markers
    assert all(b"{" + redis_prefix.encode() + b"}" in k for k in keys)
    assert len({key_slot(k) for k in keys}) == 1
    dedup_keys = [k for k in keys if b":eid:" in k]
    assert len(dedup_keys) == 2
    assert all(0 < client.ttl(k) <= 3600 for k in dedup_keys)
    log.close()


def test_a_failing_append_writes_nothing_and_a_retry_stores_everything(
    redis_url: str, redis_prefix: str, client: redis.Redis, make_event: MakeEvent
) -> None:
    log = open_log(redis_url, redis_prefix)
    batch = [make_event(), make_event(), make_event()]
    # sabotage the offset counter so the script fails after its dedup checks
    client.hset(log.stream_key + ":offset", "x", "1")

    with pytest.raises(EventLogUnavailable, match="WRONGTYPE"):
        log.append(batch)

    assert list(client.scan_iter(match=f"*{redis_prefix}*:eid:*")) == []
    assert log.count() == 0
    client.delete(log.stream_key + ":offset")
    assert log.append(batch) == AppendResult(accepted=3, duplicates=0)
    log.close()


def test_offsets_stay_monotonic_if_the_counter_or_the_stream_key_is_lost(
    redis_url: str, redis_prefix: str, client: redis.Redis, make_event: MakeEvent
) -> None:
    log = open_log(redis_url, redis_prefix)
    log.append([make_event(), make_event()])
    client.delete(log.stream_key + ":offset")
    log.append([make_event()])
    offsets = [offset for offset, _ in log.read()]
    assert offsets == [1, 2, 3]

    client.delete(log.stream_key)
    log.append([make_event()])
    assert [offset for offset, _ in log.read()] == [4]
    log.close()


def test_maxlen_trims_old_entries_but_keeps_offsets_increasing(
    redis_url: str, redis_prefix: str, make_event: MakeEvent
) -> None:
    log = open_log(redis_url, redis_prefix, "&maxlen=10")
    for _ in range(6):
        log.append([make_event() for _ in range(100)])

    rows = log.read(limit=1000)
    # approximate trimming (~) removes whole stream nodes, so only a bound can be asserted
    assert 10 <= log.count() < 600
    assert rows[-1][0] == 600
    assert [o for o, _ in rows] == list(range(601 - len(rows), 601))
    log.close()


@pytest.mark.parametrize(
    "query",
    ["", "?stream=", "?stream=a{b}", "?stream=x&dedup_ttl_s=0", "?stream=x&typo=1", "?stream=x&timeout_ms=0"],
)
def test_bad_redis_urls_are_rejected(query: str) -> None:
    with pytest.raises(ValueError):
        open_event_log(f"redis://127.0.0.1:6379/0{query}")


def test_an_unreachable_redis_raises_event_log_unavailable(make_event: MakeEvent) -> None:
    log = open_event_log("redis://127.0.0.1:1/0?stream=nowhere&timeout_ms=100&connect_timeout_ms=100")
    with pytest.raises(EventLogUnavailable):
        log.append([make_event()])
    with pytest.raises(EventLogUnavailable):
        log.read()
    log.close()

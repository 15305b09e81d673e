"""Campaign spend counters shared by every serving process: atomic reserve-before-serve and billing.

Two numbers per campaign per UTC day, and the same two over the campaign's lifetime:

* ``reserved`` (``r``): what serving has committed to — the price of each CPM impression, and the
  *expected* cost ``ceil(price_per_click * pctr)`` of each CPC impression — added atomically at
  decision time, *before* the ad is served, and only if ``max(reserved, billed) + amount <= cap``.
* ``billed`` (``b``): what the advertiser is charged — CPM impressions at decision time (the reserve
  is the charge), CPC clicks when they happen.

Why CPC reserves the expected cost, not the click price: a click can arrive minutes after the
impression and cannot be refused, but holding a full click price per impression (a 1% CTR ad would
hold 100 times its expected spend) would stop a campaign long before it spent its budget. The
expected cost paces serving; clicks then bill against a *hard* cap of ``cap * (1 + tolerance)``:
``charge`` bills ``min(price, hard_cap - billed)`` atomically and reports the rest as unbilled (the
platform's over-delivery, which it absorbs). So billed spend never exceeds the budget by more than
the tolerance, whatever the click timing and however many processes serve, by construction.

A campaign's daily budget can also be split (a budget-split experiment: each arm its own marketplace,
with its share of every budget): a hold or a charge that names a ``split`` must also fit that split's
own day counter under its own cap, checked and added in the same atomic step as the campaign's, so
the arms cannot take each other's budget and the campaign's total cap still bounds them all.

Backends (same contract, tested alike): :class:`MemorySpendCounters` (one lock, one process) and
:class:`RedisSpendCounters` (Lua scripts, each atomic on one campaign's keys; a request's several
winners go in one pipelined round trip; on a Redis Cluster, ``cluster=true`` in the URL, one per
master). Redis keys carry the campaign as a Cluster hash tag,
``<prefix>:spend:{c:<campaign_id>}:<day>`` and ``...:life`` (and a split's ``...:<day>:s:<split>``), so
one script's keys share a slot; day keys expire 3 days after they are last written (lifetime keys do
not expire).
Backend errors surface as :class:`~feedmix.stores.errors.StoreUnavailable`; the ad server then
serves no ads (it cannot prove the budget holds, so it must not spend).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, cast

import numpy as np
import numpy.typing as npt

from feedmix.stores.redis_conn import (
    TIMEOUT_OPTIONS,
    RedisClient,
    is_redis_url,
    make_any_client,
    store_errors,
)
from feedmix.stores.redis_scripts import run_scripts
from feedmix.stores.url_options import int_option, url_options

DAY_S = 86_400
NO_CAP = -1
DAY_KEY_TTL_S = 3 * DAY_S
DEFAULT_TIMEOUT_MS = 50.0


def day_of(ts: float) -> int:
    """UTC day number (days since the epoch): the unit of daily budgets."""
    return int(ts // DAY_S)


@dataclass(frozen=True)
class Hold:
    """One reserve-before-serve request: add ``amount`` if both caps still allow it.

    ``bill_now`` also bills it (CPM). ``life_cap`` is ``NO_CAP`` for daily-budget campaigns.
    """

    campaign_id: str
    day: int
    amount: int
    day_cap: int
    life_cap: int = NO_CAP
    bill_now: bool = False
    #: a share of the campaign's day budget (a budget-split arm) that must also hold ``amount``
    split: str = ""
    split_day_cap: int = NO_CAP


@dataclass(frozen=True)
class Charge:
    """What a click actually billed, and what the hard cap left unbilled."""

    billed: int
    unbilled: int


class SpendCounters(Protocol):
    def reserve(self, holds: Sequence[Hold]) -> list[bool]:
        """Each hold atomically (per campaign), all in one round trip; True where it was granted."""
        ...

    def charge(
        self,
        campaign_id: str,
        day: int,
        amount: int,
        day_hard_cap: int,
        life_hard_cap: int = NO_CAP,
        split: str = "",
        split_hard_cap: int = NO_CAP,
    ) -> Charge:
        """Bill ``min(amount, room under the hard caps)`` atomically (the split's too, if named)."""
        ...

    def split_spent(self, campaign_id: str, day: int, split: str) -> int:
        """``max(reserved, billed)`` of one split of the campaign's day."""
        ...

    def spent_many(
        self, campaign_ids: Sequence[str], day: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Per campaign: ``max(reserved, billed)`` of ``day`` and over the lifetime."""
        ...

    def billed(self, campaign_id: str, day: int) -> tuple[int, int]:
        """``(billed today, billed over the lifetime)``."""
        ...

    def close(self) -> None: ...


class MemorySpendCounters:
    """In-process counters; one lock makes each check-and-add atomic across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (campaign_id, day or None for lifetime[, split]) -> [reserved, billed]
        self._c: dict[tuple[str, int | None] | tuple[str, int, str], list[int]] = {}

    @classmethod
    def from_url(cls, url: str) -> MemorySpendCounters:
        url_options(url, ())
        return cls()

    def _get(self, campaign_id: str, day: int | None, split: str = "") -> list[int]:
        key: tuple[str, int | None] | tuple[str, int, str] = (
            (campaign_id, day) if not split or day is None else (campaign_id, day, split)
        )
        v = self._c.get(key)
        if v is None:
            v = self._c[key] = [0, 0]
        return v

    def reserve(self, holds: Sequence[Hold]) -> list[bool]:
        out: list[bool] = []
        with self._lock:
            for h in holds:
                d = self._get(h.campaign_id, h.day)
                life = self._get(h.campaign_id, None)
                counters = [d, life]
                ok = max(d) + h.amount <= h.day_cap and (h.life_cap < 0 or max(life) + h.amount <= h.life_cap)
                if ok and h.split:
                    s = self._get(h.campaign_id, h.day, h.split)
                    ok = h.split_day_cap < 0 or max(s) + h.amount <= h.split_day_cap
                    counters.append(s)
                if ok:
                    for c in counters:
                        c[0] += h.amount
                        if h.bill_now:
                            c[1] += h.amount
                out.append(ok)
        return out

    def charge(
        self,
        campaign_id: str,
        day: int,
        amount: int,
        day_hard_cap: int,
        life_hard_cap: int = NO_CAP,
        split: str = "",
        split_hard_cap: int = NO_CAP,
    ) -> Charge:
        with self._lock:
            d = self._get(campaign_id, day)
            life = self._get(campaign_id, None)
            counters = [d, life]
            room = max(0, day_hard_cap - d[1])
            if life_hard_cap >= 0:
                room = min(room, max(0, life_hard_cap - life[1]))
            if split:
                s = self._get(campaign_id, day, split)
                counters.append(s)
                if split_hard_cap >= 0:
                    room = min(room, max(0, split_hard_cap - s[1]))
            billed = min(amount, room)
            for c in counters:
                c[1] += billed
        return Charge(billed, amount - billed)

    def split_spent(self, campaign_id: str, day: int, split: str) -> int:
        with self._lock:
            return max(self._get(campaign_id, day, split))

    def spent_many(
        self, campaign_ids: Sequence[str], day: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        empty = (0, 0)
        with self._lock:
            c = self._c
            day_spent = [max(c.get((i, day), empty)) for i in campaign_ids]
            life_spent = [max(c.get((i, None), empty)) for i in campaign_ids]
        return np.asarray(day_spent, dtype=np.int64), np.asarray(life_spent, dtype=np.int64)

    def billed(self, campaign_id: str, day: int) -> tuple[int, int]:
        with self._lock:
            return self._get(campaign_id, day)[1], self._get(campaign_id, None)[1]

    def close(self) -> None:
        pass


_RESERVE_LUA = """
local amount = tonumber(ARGV[1])
local rd = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
local bd = tonumber(redis.call('HGET', KEYS[1], 'b') or '0')
if math.max(rd, bd) + amount > tonumber(ARGV[3]) then return 0 end
local life_cap = tonumber(ARGV[4])
if life_cap >= 0 then
  local rl = tonumber(redis.call('HGET', KEYS[2], 'r') or '0')
  local bl = tonumber(redis.call('HGET', KEYS[2], 'b') or '0')
  if math.max(rl, bl) + amount > life_cap then return 0 end
end
local n = 2
if #KEYS == 3 then
  local split_cap = tonumber(ARGV[6])
  if split_cap >= 0 then
    local rs = tonumber(redis.call('HGET', KEYS[3], 'r') or '0')
    local bs = tonumber(redis.call('HGET', KEYS[3], 'b') or '0')
    if math.max(rs, bs) + amount > split_cap then return 0 end
  end
  n = 3
end
for i = 1, n do
  redis.call('HINCRBY', KEYS[i], 'r', amount)
  if ARGV[2] == '1' then redis.call('HINCRBY', KEYS[i], 'b', amount) end
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
if n == 3 then redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5])) end
return 1
"""

_CHARGE_LUA = """
local amount = tonumber(ARGV[1])
local bd = tonumber(redis.call('HGET', KEYS[1], 'b') or '0')
local room = math.max(0, tonumber(ARGV[2]) - bd)
local life_cap = tonumber(ARGV[3])
if life_cap >= 0 then
  local bl = tonumber(redis.call('HGET', KEYS[2], 'b') or '0')
  room = math.min(room, math.max(0, life_cap - bl))
end
if #KEYS == 3 and tonumber(ARGV[5]) >= 0 then
  local bs = tonumber(redis.call('HGET', KEYS[3], 'b') or '0')
  room = math.min(room, math.max(0, tonumber(ARGV[5]) - bs))
end
local billed = math.min(amount, room)
if billed > 0 then
  for i = 1, #KEYS do redis.call('HINCRBY', KEYS[i], 'b', billed) end
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
if #KEYS == 3 then redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4])) end
return billed
"""


def _spent(values: Sequence[bytes | None]) -> int:
    return max((int(v) for v in values if v is not None), default=0)


class RedisSpendCounters:
    """Counters in Redis, shared by all serving processes (see the module docstring)."""

    def __init__(
        self, client: RedisClient, prefix: str = "feedmix", wait_replicas: int = 0, wait_timeout_ms: int = 50
    ) -> None:
        self._client = client
        self.prefix = prefix
        #: with replicas: holds and charges succeed only once this many replicas have them, so a
        #: failover cannot drop spend that was acknowledged (and let the budget be spent twice)
        self.wait_replicas = wait_replicas
        self.wait_timeout_ms = wait_timeout_ms
        self._reserve = client.register_script(_RESERVE_LUA)
        self._charge = client.register_script(_CHARGE_LUA)

    @classmethod
    def from_url(cls, url: str) -> RedisSpendCounters:
        opts = url_options(url, ("prefix", "wait_replicas", "wait_timeout_ms", *TIMEOUT_OPTIONS))
        return cls(
            make_any_client(url, opts, default_timeout_ms=DEFAULT_TIMEOUT_MS),
            prefix=opts.get("prefix", "feedmix"),
            wait_replicas=int_option(opts, "wait_replicas", 0),
            wait_timeout_ms=int_option(opts, "wait_timeout_ms", 50, minimum=1),
        )

    def keys(self, campaign_id: str, day: int, split: str = "") -> tuple[str, ...]:
        base = f"{self.prefix}:spend:{{c:{campaign_id}}}"
        out: tuple[str, ...] = (f"{base}:{day}", f"{base}:life")
        return (*out, f"{base}:{day}:s:{split}") if split else out

    def reserve(self, holds: Sequence[Hold]) -> list[bool]:
        if not holds:
            return []
        calls = [
            (
                self.keys(h.campaign_id, h.day, h.split),
                [h.amount, 1 if h.bill_now else 0, h.day_cap, h.life_cap, DAY_KEY_TTL_S, h.split_day_cap],
            )
            for h in holds
        ]
        with store_errors("spend counters reserve"):
            replies = run_scripts(
                self._client,
                self._reserve,
                calls,
                wait_replicas=self.wait_replicas,
                wait_timeout_ms=self.wait_timeout_ms,
            )
            return [int(r) == 1 for r in replies]

    def charge(
        self,
        campaign_id: str,
        day: int,
        amount: int,
        day_hard_cap: int,
        life_hard_cap: int = NO_CAP,
        split: str = "",
        split_hard_cap: int = NO_CAP,
    ) -> Charge:
        call = (
            self.keys(campaign_id, day, split),
            [amount, day_hard_cap, life_hard_cap, DAY_KEY_TTL_S, split_hard_cap],
        )
        with store_errors("spend counters charge"):
            (reply,) = run_scripts(
                self._client,
                self._charge,
                [call],
                wait_replicas=self.wait_replicas,
                wait_timeout_ms=self.wait_timeout_ms,
            )
            billed = int(reply)
        return Charge(billed, amount - billed)

    def split_spent(self, campaign_id: str, day: int, split: str) -> int:
        with store_errors("spend counters read"):
            values = cast(
                "list[bytes | None]", self._client.hmget(self.keys(campaign_id, day, split)[2], ["r", "b"])
            )
        return _spent(values)

    def spent_many(
        self, campaign_ids: Sequence[str], day: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        with store_errors("spend counters read"):
            pipe = self._client.pipeline(transaction=False)
            for c in campaign_ids:
                day_key, life_key = self.keys(c, day)[:2]
                pipe.hmget(day_key, ["r", "b"])
                pipe.hmget(life_key, ["r", "b"])
            replies = pipe.execute()
        day_spent = np.fromiter((_spent(v) for v in replies[0::2]), np.int64, len(campaign_ids))
        life_spent = np.fromiter((_spent(v) for v in replies[1::2]), np.int64, len(campaign_ids))
        return day_spent, life_spent

    def billed(self, campaign_id: str, day: int) -> tuple[int, int]:
        day_key, life_key = self.keys(campaign_id, day)[:2]
        with store_errors("spend counters read"):
            pipe = self._client.pipeline(transaction=False)
            pipe.hget(day_key, "b")
            pipe.hget(life_key, "b")
            d, life = pipe.execute()
        return int(d or 0), int(life or 0)

    def close(self) -> None:
        self._client.close()


def open_spend_counters(url: str) -> SpendCounters:
    """``memory://`` or ``redis://host:6379/0?prefix=feedmix&timeout_ms=50&connect_timeout_ms=50``
    (``&cluster=true`` on a Redis Cluster; ``&wait_replicas=1`` to survive a failover, see above)."""
    if url.startswith("memory://"):
        return MemorySpendCounters.from_url(url)
    if is_redis_url(url):
        return RedisSpendCounters.from_url(url)
    raise ValueError(f"unsupported spend counters URL {url!r} (use memory:// or redis://)")

"""Real-time engagement aggregates, updated as events arrive and written to the online store.

``EngagementAggregator.apply(events, now)`` counts impressions, clicks, upvotes, hides and
comments per post (1 h, 24 h and 7 d windows), per user, per community and per user×community
(24 h and 7 d: ``definitions.ENTITY_WINDOWS``), with the window semantics of
:mod:`feedmix.features.window_counter` (1 h = 12 × 5-minute buckets, 24 h = 24 × 1-hour buckets,
7 d = 28 × 6-hour buckets; an event counts while its bucket is one of the window's newest).
At the edges, exactly: an event at time ``t`` counts in a window of ``n`` buckets of ``b`` seconds
at query time ``q`` iff ``floor(q/b) - n < floor(t/b) <= floor(q/b)``. So an impression at 10:07
counts in the 1 h window until 11:04:59 and is gone at 11:05:00 (its 10:05 bucket left the ring),
counts in the 24 h window until 09:59:59 the next day, and in the 7 d window until the 6-hour
bucket it fell in (06:00-12:00) leaves, at 06:00 seven days later; an event counts for between
``window - bucket`` and ``window`` seconds, and all events of one bucket leave together.
Downvotes are not counted (no feature uses them yet). Event times are the events' ``ts``
(``now`` where absent), clamped to ``now``.

``flush(store, now)`` writes the rows whose values changed since the last flush: entities that
got events, and entities that lost counts because a bucket left a window (so a post's 1 h count
falls back to 0 an hour after its last impression even if no event arrives). Rates are smoothed
as documented in :mod:`feedmix.features.definitions`. Only features the store's registry defines
are written. A failed write leaves the rows marked, so the next flush retries them.

``post_counts(post_ids, window)`` answers in process (an exploration source reads it per request):
one ``searchsorted`` plus one gather.

The state lives in this process; after a restart the windows refill from new events (replaying
the last 7 d of the event log through ``apply`` restores them all; replaying only the last 24 h
restores the 1 h and 24 h windows and leaves the 7 d ones short of the older days). Entities
whose windows are all empty are forgotten after their final (zero) row has been written, so
memory follows the set of recently active entities (active in the last 7 d: the longest window).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.events.post_ids import post_ids_to_int
from feedmix.events.schema import Event
from feedmix.features.definitions import COUNTS, ENTITY_WINDOWS, WINDOWS, smoothed_ctr
from feedmix.features.entity_keys import KeyArray, community_keys, community_name_table, post_keys
from feedmix.features.online_store import OnlineStore
from feedmix.features.slot_index import SlotIndex
from feedmix.features.window_counter import WindowCounter

IntArray = npt.NDArray[np.int64]
CommunityOf = Callable[[IntArray], IntArray]

#: the counted event types, in channel order (the order of ``definitions.COUNTS``)
CHANNELS = ("impression", "click", "upvote", "hide", "comment")
_CHANNEL = {t: i for i, t in enumerate(CHANNELS)}
IMPRESSION, CLICK, UPVOTE, HIDE, COMMENT = range(5)
if tuple(f"{c}s" for c in CHANNELS) != COUNTS:  # the features name channels by position
    raise AssertionError(f"channels {CHANNELS} do not line up with the count features {COUNTS}")
#: (window length, bucket size) in seconds; 7 d in 6-hour buckets keeps its ring at 28 buckets
BUCKETS: dict[str, tuple[float, float]] = {
    "1h": (WINDOWS["1h"], 300.0),
    "24h": (WINDOWS["24h"], 3600.0),
    "7d": (WINDOWS["7d"], 6 * 3600.0),
}
_USER_SHIFT = 32  # user×community key: user number << 32 | community


class _EntityCounts:
    """Window counters for one entity plus which of its rows need writing."""

    def __init__(self, windows: Sequence[str]) -> None:
        self.index = SlotIndex()
        self.counters = {w: WindowCounter(*BUCKETS[w], channels=len(CHANNELS)) for w in windows}
        self.dirty = np.zeros(0, dtype=bool)

    def _mark(self, slots: IntArray) -> None:
        if slots.size == 0:
            return
        if self.index.size > len(self.dirty):
            grown = np.zeros(max(self.index.size, 2 * len(self.dirty)), dtype=bool)
            grown[: len(self.dirty)] = self.dirty
            self.dirty = grown
        self.dirty[slots] = True

    def advance(self, now: float) -> None:
        for counter in self.counters.values():
            self._mark(counter.advance(now))

    def add(self, keys: IntArray, channels: IntArray, ts: npt.NDArray[np.float64], now: float) -> None:
        slots = self.index.insert(keys)
        for counter in self.counters.values():
            self._mark(counter.add(slots, channels, ts, now))
        self._mark(np.unique(slots))

    def totals(self, keys: IntArray, window: str, q: float) -> IntArray:
        """``(len(keys), channels)`` totals; zeros for keys never seen (or forgotten)."""
        return self.counters[window].totals(self.index.lookup(keys), q)

    def take_dirty(self) -> tuple[IntArray, IntArray]:
        """The keys and slots of the rows to write, unmarked (``mark`` them again if the write fails)."""
        slots = np.flatnonzero(self.dirty).astype(np.int64)
        self.dirty[slots] = False
        return self.index.keys_of(slots), slots

    def mark(self, slots: IntArray) -> None:
        self._mark(slots)

    def mark_all(self) -> None:
        self._mark(self.index.lookup(self.index.keys()))

    def forget_idle(self, slots: IntArray) -> None:
        """Release the slots (of rows just written) that have no counts left and no newer change."""
        longest = max(self.counters.values(), key=lambda c: c.window_s)
        idle = slots[~longest.active(slots) & ~self.dirty[slots]]
        if idle.size:
            for counter in self.counters.values():
                counter.clear(idle)
            self.index.release(idle)


_FlushJob = tuple[str, IntArray, Sequence[str] | KeyArray, dict[str, npt.NDArray[Any]], _EntityCounts]


def corpus_community_of(corpus: RedditCorpus) -> CommunityOf:
    """``community_of`` for a corpus: each post's community index, -1 for posts it does not hold."""

    def community_of(post_ids: IntArray) -> IntArray:
        rows = corpus.rows_of(post_ids)
        communities = corpus.community[np.maximum(rows, 0)].astype(np.int64)
        return np.where(rows >= 0, communities, -1)

    return community_of


class EngagementAggregator:
    def __init__(
        self,
        community_of: CommunityOf,
        community_names: Sequence[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``community_of(post_ids)`` gives each post's community index (-1 if unknown);
        ``community_names`` (index -> name) makes community keys names, as the hydrator's must be;
        ``clock`` (unix seconds, like event times) is what ``post_counts`` measures windows at."""
        self._community_of = community_of
        self._community_names = None if community_names is None else community_name_table(community_names)
        self._clock = clock
        self._lock = threading.Lock()  # counts and names
        self._flush_lock = threading.Lock()  # one flush at a time
        self._posts = _EntityCounts(ENTITY_WINDOWS["post"])
        self._users = _EntityCounts(ENTITY_WINDOWS["user"])
        self._communities = _EntityCounts(ENTITY_WINDOWS["community"])
        self._user_communities = _EntityCounts(ENTITY_WINDOWS["user_community"])
        self._user_number: dict[str, int] = {}
        self._user_name: dict[int, str] = {}
        self._next_user = 0
        #: events applied and events ignored (types no feature counts)
        self.applied = 0
        self.ignored = 0

    # -- updates -------------------------------------------------------------------------------

    def apply(self, events: Sequence[Event], now: float) -> None:
        """Count these events (any order, duplicates counted: dedupe upstream, e.g. the log)."""
        channel = np.array([_CHANNEL.get(e.type, -1) for e in events], dtype=np.int64)
        counted = [e for e, c in zip(events, channel.tolist(), strict=True) if c >= 0]
        channel = channel[channel >= 0]
        with self._lock:
            self.ignored += len(events) - len(counted)
            self.applied += len(counted)
            for entity in self._entities():
                entity.advance(now)
            if not counted:
                return
            ts = np.array([now if e.ts is None else e.ts for e in counted], dtype=np.float64)
            posts = post_ids_to_int([e.post_id for e in counted])
            users = self._user_numbers([e.user_id for e in counted])
            communities = np.asarray(self._community_of(posts), dtype=np.int64)
            known = communities >= 0
            self._posts.add(posts, channel, ts, now)
            self._users.add(users, channel, ts, now)
            self._communities.add(communities[known], channel[known], ts[known], now)
            pairs = (users[known] << _USER_SHIFT) | communities[known]
            self._user_communities.add(pairs, channel[known], ts[known], now)

    def _entities(self) -> tuple[_EntityCounts, ...]:
        return (self._posts, self._users, self._communities, self._user_communities)

    def _user_numbers(self, user_ids: list[str]) -> IntArray:
        out = np.empty(len(user_ids), dtype=np.int64)
        for i, user in enumerate(user_ids):
            number = self._user_number.get(user)
            if number is None:
                number = self._user_number[user] = self._next_user
                self._user_name[number] = user
                self._next_user += 1
            out[i] = number
        return out

    # -- reads ---------------------------------------------------------------------------------

    def post_counts(self, post_ids: npt.ArrayLike, window: str) -> tuple[IntArray, IntArray]:
        """(impressions, clicks) of each post in ``window`` ("1h", "24h" or "7d") at the clock's now."""
        if window not in self._posts.counters:
            raise ValueError(f"unknown window {window!r} (have: {sorted(self._posts.counters)})")
        with self._lock:
            totals = self._posts.totals(np.asarray(post_ids, dtype=np.int64), window, self._clock())
        return totals[:, IMPRESSION].copy(), totals[:, CLICK].copy()

    # -- writing rows --------------------------------------------------------------------------

    def mark_all(self) -> None:
        """Make the next flush rewrite every row held, changed or not: after the store may have
        lost data (a Redis restart without persistence), this puts all current values back."""
        with self._lock:
            for entity in self._entities():
                entity.mark_all()

    def flush(self, store: OnlineStore, now: float | None = None) -> dict[str, int]:
        """Write every changed row to ``store``; returns rows written per entity.

        Rows are computed under the lock and written outside it, so ``apply`` and ``post_counts``
        never wait for the store. ``StoreUnavailable`` propagates after the unwritten rows are
        marked again for the next flush.
        """
        with self._flush_lock:
            with self._lock:
                now = self._clock() if now is None else now
                for entity in self._entities():
                    entity.advance(now)
                jobs = [job for job in self._flush_jobs(store, now) if job[1].size]
            written: dict[str, int] = {}
            for i, (name, slots, keys, columns, _) in enumerate(jobs):
                try:
                    if columns:
                        store.write(name, keys, columns, ts=now)
                        written[name] = int(slots.size)
                except BaseException:
                    with self._lock:
                        for _, unwritten, _, _, owner in jobs[i:]:
                            owner.mark(unwritten)
                    raise
            with self._lock:
                for _, slots, _, _, counts in jobs:
                    counts.forget_idle(slots)
                self._forget_idle_users()
            return written

    def _flush_jobs(self, store: OnlineStore, now: float) -> list[_FlushJob]:
        """Per entity: (name, slots, store keys, feature columns, counts) of the rows to write."""
        jobs: list[_FlushJob] = []
        for name, counts, keys_of in (
            ("post", self._posts, self._post_keys),
            ("user", self._users, self._user_keys),
            ("community", self._communities, self._community_keys),
            ("user_community", self._user_communities, self._pair_keys),
        ):
            keys, slots = counts.take_dirty()
            wanted = {d.name for d in store.registry.by_entity(name)}
            columns = _window_features(counts, keys, now, wanted)
            jobs.append((name, slots, keys_of(keys), columns, counts))
        return jobs

    def _forget_idle_users(self) -> None:
        """Drop the names of users who have neither a user row nor a user×community row left."""
        if len(self._user_name) == len(self._users.index):
            return
        live = np.union1d(self._users.index.keys(), self._user_communities.index.keys() >> _USER_SHIFT)
        named = np.fromiter(self._user_name, dtype=np.int64, count=len(self._user_name))
        for number in named[~np.isin(named, live)].tolist():
            del self._user_number[self._user_name.pop(number)]

    def _post_keys(self, ids: IntArray) -> KeyArray:
        return post_keys(ids)

    def _user_keys(self, numbers: IntArray) -> list[str]:
        return [self._user_name[n] for n in numbers.tolist()]

    def _community_keys(self, communities: IntArray) -> KeyArray:
        return community_keys(communities, self._community_names)

    def _pair_keys(self, pairs: IntArray) -> list[str]:
        communities = community_keys(pairs & ((1 << _USER_SHIFT) - 1), self._community_names).tolist()
        users = (pairs >> _USER_SHIFT).tolist()
        return [f"{self._user_name[u]}|{c.decode()}" for u, c in zip(users, communities, strict=True)]


def _window_features(
    counts: _EntityCounts, keys: IntArray, now: float, wanted: set[str]
) -> dict[str, npt.NDArray[Any]]:
    return window_feature_columns(counts.counters, lambda window: counts.totals(keys, window, now), wanted)


def window_feature_columns(
    windows: Iterable[str], totals_of: Callable[[str], IntArray], wanted: set[str]
) -> dict[str, npt.NDArray[Any]]:
    """The columns of ``wanted`` features these rows have: ``<count>_<window>`` and ``ctr_<window>``
    for each window the entity is counted over (a window no wanted feature reads is not summed).
    ``totals_of(window)`` gives the ``(rows, channels)`` totals; the shared aggregates use it too, so
    rows written by aggregate workers equal the ones this process would write."""
    out: dict[str, npt.NDArray[Any]] = {}
    for window in windows:
        names = [f"{kind}_{window}" for kind in COUNTS]
        ctr = f"ctr_{window}"
        if ctr not in wanted and not wanted.intersection(names):
            continue
        t = totals_of(window)
        for channel, name in enumerate(names):
            if name in wanted:
                out[name] = t[:, channel]
        if ctr in wanted:
            out[ctr] = smoothed_ctr(t[:, CLICK], t[:, IMPRESSION])
    return out

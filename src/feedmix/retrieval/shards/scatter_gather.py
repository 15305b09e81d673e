"""The coordinator: one :class:`AnnIndex` over shard servers, asked in parallel under a deadline.

A search sends every shard its request at once (gRPC futures: no thread of ours waits per shard), each
with the request's remaining time as its gRPC deadline, then waits for the answers on one queue:

* **merge**: each shard returns its own top ``k``; the global top ``k`` is among their union, so the
  merge (one argsort of ``[q, answered·k]`` scores) is exact whenever the shards are, and each
  shard's over-fetch past its excluded ids keeps ``k`` allowed results per shard.
* **hedge**: when a shard has not answered after the hedge delay (the ``percentile`` of recent shard
  latencies, seeded by ``initial_delay_s`` until ``min_samples`` have been seen), it is sent the same
  request again, to its next replica (or to the same address when it has one and ``resend_same``);
  whichever answer comes first is used and the other call is cancelled. ``max_hedges`` bounds the extra
  requests per search, so a hedge never doubles the load.
* **failover**: a replica that fails (down: ``UNAVAILABLE`` at once) passes the request to the next
  untried replica of its shard immediately.
* **partial results**: at the deadline, or when a shard has failed on every replica, the search returns
  what the other shards found, with a :class:`Coverage` naming each missing shard and why. Only a search
  that no shard answered raises (:class:`NoShardAnswered`): an empty answer would look like "nothing
  matches".

Replicas: ``shards[i]`` lists the addresses serving shard ``i``, in order of preference; the first one
gets every primary request (a deployment spreads load by giving its coordinators different orders).
Excluded ids are routed to the shard that holds them (:func:`~feedmix.retrieval.shards.partition.
shard_of`), so the exclusion list crosses the network once in total.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import numpy as np
import numpy.typing as npt

from feedmix.retrieval.ann.exclusion_set import ExclusionSet
from feedmix.retrieval.ann.protocol import IdArray, ScoreArray
from feedmix.retrieval.shards.coverage import Coverage, CoveredResult
from feedmix.retrieval.shards.partition import shard_of
from feedmix.retrieval.shards.shard_server import INFO_METHOD, SEARCH_METHOD
from feedmix.retrieval.shards.wire import SearchResponse, decode_response, encode_request

log = logging.getLogger(__name__)

_CHANNEL_OPTIONS = [
    # a shard that comes back is reconnected within a second, not after grpc's default two minutes
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.max_receive_message_length", 64 << 20),
    ("grpc.max_send_message_length", 64 << 20),
]
_EMPTY = np.empty(0, dtype=np.int64)


class NoShardAnswered(RuntimeError):
    """Every shard failed or was late: there is no partial answer to give."""

    def __init__(self, coverage: Coverage) -> None:
        super().__init__(coverage.describe())
        self.coverage = coverage


@dataclass(frozen=True)
class HedgePolicy:
    percentile: float = 95.0
    #: the hedge delay until ``min_samples`` latencies have been observed
    initial_delay_s: float = 0.010
    min_delay_s: float = 0.0005
    min_samples: int = 20
    #: recent successful shard calls the percentile is taken over
    window: int = 512
    #: extra requests per search (0: never hedge)
    max_hedges: int = 1
    #: a shard with one address gets its hedge resent there (helps with per-request stalls only)
    resend_same: bool = True


class LatencyWindow:
    """Recent shard latencies and their percentile (recomputed every few samples, not per search)."""

    def __init__(self, policy: HedgePolicy) -> None:
        self._policy = policy
        self._samples: deque[float] = deque(maxlen=policy.window)
        self._lock = threading.Lock()
        self._delay = policy.initial_delay_s
        self._since = 0

    def add(self, seconds: float) -> None:
        with self._lock:
            self._samples.append(seconds)
            self._since += 1
            if len(self._samples) >= self._policy.min_samples and self._since >= 8:
                self._since = 0
                p = float(np.percentile(np.fromiter(self._samples, float), self._policy.percentile))
                self._delay = max(self._policy.min_delay_s, p)

    def hedge_delay(self) -> float:
        return self._delay


class ScatterGatherIndex:
    """Searches the shards behind ``shards`` (a list of replica addresses per shard) as one index."""

    def __init__(
        self,
        shards: Sequence[Sequence[str]],
        *,
        dim: int,
        kind: str = "sharded",
        count: int = 0,
        timeout_s: float = 0.1,
        hedge: HedgePolicy | None = None,
    ) -> None:
        if not shards or any(not replicas for replicas in shards):
            raise ValueError("every shard needs at least one address")
        self.addresses = [list(r) for r in shards]
        self.timeout_s = timeout_s
        self.hedge = hedge or HedgePolicy()
        self.latency = LatencyWindow(self.hedge)
        self._dim, self._kind, self._count = dim, kind, count
        self._channels = {a: grpc.insecure_channel(a, options=_CHANNEL_OPTIONS) for r in shards for a in r}
        self._search = {a: ch.unary_unary(SEARCH_METHOD) for a, ch in self._channels.items()}
        #: searches, hedges sent, hedges whose answer was used, failovers, partial searches
        self.stats = {"searches": 0, "hedges": 0, "hedges_won": 0, "failovers": 0, "partial": 0}

    @classmethod
    def connect(
        cls, shards: Sequence[Sequence[str]], *, info_timeout_s: float = 5.0, **options: Any
    ) -> ScatterGatherIndex:
        """Learn dim, kind and size from the shards' ``Info`` (any answering replica of each shard).

        Shards that do not answer are left out of ``len``; at least one must answer (for ``dim``).
        """
        infos = []
        for replicas in shards:
            for address in replicas:
                with grpc.insecure_channel(address) as ch:
                    try:
                        raw = ch.unary_unary(INFO_METHOD)(b"", timeout=info_timeout_s, wait_for_ready=True)
                    except grpc.RpcError as exc:
                        log.warning("shard at %s did not answer Info: %s", address, exc)
                        continue
                infos.append(json.loads(raw))
                break
        if not infos:
            raise ConnectionError(f"no shard of {list(shards)} answered")
        dims = {int(i["dim"]) for i in infos}
        if len(dims) != 1:
            raise ValueError(f"shards disagree on the dimension: {sorted(dims)}")
        return cls(
            shards,
            dim=dims.pop(),
            kind=str(infos[0]["kind"]),
            count=sum(int(i["count"]) for i in infos),
            **options,
        )

    # -- the AnnIndex protocol -------------------------------------------------------------------

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def dim(self) -> int:
        return self._dim

    def __len__(self) -> int:
        return self._count

    @property
    def shards(self) -> int:
        return len(self.addresses)

    def search(
        self, queries: npt.ArrayLike, k: int, *, exclude: ExclusionSet | None = None
    ) -> tuple[IdArray, ScoreArray]:
        res = self.search_covered(queries, k, exclude=exclude)
        return res.ids, res.scores

    def save(self, path: Any) -> None:
        raise NotImplementedError("a scatter-gather index is served by its shards; build them instead")

    def close(self) -> None:
        for ch in self._channels.values():
            ch.close()

    # -- the search --------------------------------------------------------------------------------

    def search_covered(
        self,
        queries: npt.ArrayLike,
        k: int,
        *,
        exclude: ExclusionSet | None = None,
        timeout_s: float | None = None,
    ) -> CoveredResult:
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != self._dim:
            raise ValueError(f"queries must have shape [q, {self._dim}], got {np.shape(queries)}")
        if k < 1:
            raise ValueError("k must be at least 1")
        n = self.shards
        start = time.perf_counter()
        deadline = start + (self.timeout_s if timeout_s is None else max(0.0, timeout_s))
        payloads = self._payloads(q, k, exclude)
        done: queue.SimpleQueue[tuple[int, int, float, Any]] = queue.SimpleQueue()
        calls: dict[int, list[Any]] = {s: [] for s in range(n)}
        tried = [0] * n
        inflight = [0] * n

        def send(s: int) -> None:
            address = self.addresses[s][tried[s] % len(self.addresses[s])]
            tried[s] += 1
            inflight[s] += 1
            t0 = time.perf_counter()
            fut = self._search[address].future(payloads[s], timeout=max(0.0, deadline - t0))
            calls[s].append(fut)
            attempt = tried[s]
            fut.add_done_callback(lambda f, s=s, a=attempt, t0=t0: done.put((s, a, t0, f)))

        for s in range(n):
            send(s)
        answers: dict[int, SearchResponse] = {}
        missing: dict[int, str] = {}
        hedged: list[int] = []
        hedge_at = start + self.latency.hedge_delay() if self.hedge.max_hedges > 0 else float("inf")
        while len(answers) + len(missing) < n:
            now = time.perf_counter()
            if now >= deadline:
                break
            try:
                s, attempt, t0, fut = done.get(timeout=max(0.0, min(deadline, hedge_at) - now))
            except queue.Empty:
                if time.perf_counter() < deadline:
                    self._hedge(answers, missing, hedged, send)
                    hedge_at = float("inf")
                continue
            inflight[s] -= 1
            if s in answers or s in missing:
                continue
            error = _call_error(fut)
            if error is None:
                answers[s] = decode_response(fut.result())
                self.latency.add(time.perf_counter() - t0)
                if attempt > 1 and s in hedged:
                    self.stats["hedges_won"] += 1
                for other in calls[s]:
                    if other is not fut:
                        other.cancel()
            elif tried[s] < len(self.addresses[s]) and time.perf_counter() < deadline:
                self.stats["failovers"] += 1
                send(s)  # the next replica, at once
            elif inflight[s] == 0:
                missing[s] = error
        for s in range(n):
            if s not in answers and s not in missing:
                missing[s] = f"no answer within {(deadline - start) * 1000:.1f} ms"
            if s not in answers:
                for fut in calls[s]:
                    fut.cancel()
        coverage = Coverage(n, tuple(sorted(answers)), missing, tuple(hedged))
        self.stats["searches"] += 1
        if missing:
            self.stats["partial"] += 1
        if not answers:
            raise NoShardAnswered(coverage)
        ids, scores = merge_top_k([answers[s] for s in sorted(answers)], k)
        return CoveredResult(ids, scores, coverage)

    def _payloads(self, q: npt.NDArray[np.float32], k: int, exclude: ExclusionSet | None) -> list[bytes]:
        n = self.shards
        if exclude is None or len(exclude) == 0:
            one = encode_request(q, k, _EMPTY)
            return [one] * n
        part = shard_of(exclude.ids, n)
        return [encode_request(q, k, exclude.ids[part == s]) for s in range(n)]

    def _hedge(self, answers: dict[int, Any], missing: dict[int, str], hedged: list[int], send: Any) -> None:
        """At the hedge delay: a second request for each shard still out, up to ``max_hedges``."""
        for s in range(self.shards):
            if len(hedged) >= self.hedge.max_hedges:
                return
            if s in answers or s in missing:
                continue
            if len(self.addresses[s]) == 1 and not self.hedge.resend_same:
                continue
            hedged.append(s)
            self.stats["hedges"] += 1
            send(s)


def merge_top_k(parts: Sequence[SearchResponse], k: int) -> tuple[IdArray, ScoreArray]:
    """The best ``k`` of the shards' answers per query row (``-1``/``-inf`` padded, best first)."""
    if len(parts) == 1:
        return np.array(parts[0].ids[:, :k]), np.array(parts[0].scores[:, :k])
    ids = np.concatenate([p.ids for p in parts], axis=1)
    scores = np.concatenate([p.scores for p in parts], axis=1)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    top_ids: IdArray = np.take_along_axis(ids, order, axis=1)
    top_scores: ScoreArray = np.take_along_axis(scores, order, axis=1)
    if top_ids.shape[1] < k:  # fewer than k results in all the shards together: pad
        pad = k - top_ids.shape[1]
        top_ids = np.pad(top_ids, ((0, 0), (0, pad)), constant_values=-1)
        top_scores = np.pad(top_scores, ((0, 0), (0, pad)), constant_values=-np.inf)
    return top_ids, top_scores


def _call_error(fut: Any) -> str | None:
    """None for a call that answered; else why not, in a few words."""
    if fut.cancelled():
        return "cancelled"
    exc = fut.exception()
    if exc is None:
        return None
    if isinstance(exc, grpc.Call):
        code, details = exc.code(), exc.details() or ""
        name = code.name if code is not None else "UNKNOWN"
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return "deadline exceeded"
        return f"{name}: {details[:120]}"
    return f"{type(exc).__name__}: {exc}"

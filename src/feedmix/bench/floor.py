"""The floor: what a request's irreducible kernels cost alone, on the inputs the service gave them.

A feed request must search the ANN indexes, gather the candidates' features, run the ranker's
heads over them and decide the page's ads; no framework can do less. Everything else (sources'
bookkeeping, merging, filters, column shuffling, the HTTP layer, JSON) is overhead this project
owns. ``CPU per request / floor`` is therefore the framework's overhead ratio, and the aim is 1.25.

How the inputs are "the same": the runtime is built from the scenario's config, the kernels'
entry points are wrapped by a recorder, and each request is served once through the normal path
(:meth:`FeedService.feed`), so every kernel call is captured with exactly the arguments the
pipeline passed. Then the captured calls are replayed alone, request after request, ``reps`` passes,
each call under ``time.process_time`` (faiss and LightGBM may use helper threads; process time counts
them).

The kernels (each an entry point the components call, not a re-implementation):

* ``ann_search``: ``ContentIndex.search`` and ``CollabIndex.search`` (exclusions included, as the
  embedding sources ask for them);
* ``feature_gather``: ``read_entities`` of the online store (every entity the hydrator reads);
* ``model_inference``: ``MultiTaskRanker.predict`` on the ranker's input matrix (all heads);
* ``ad_decision``: ``AdServer.decide`` (targeting, frequency caps, pacing, pCTR, auction, budget
  reservation: the whole ad decision is kernel work; its budget reservations are real but go to the
  floor process's own counters).

The replay is warmer than serving (only the kernels' data competes for the caches, and every input
was seen before), so the floor is, if anything, optimistic, and the ratio pessimistic.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from tqdm import tqdm

KERNELS = ("ann_search", "feature_gather", "model_inference", "ad_decision")


@dataclass
class _Call:
    kernel: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass
class KernelRecorder:
    """Wraps entry points so that each call is kept (with its arguments) and then made as usual."""

    calls: list[_Call] = field(default_factory=list)
    _undo: list[Callable[[], None]] = field(default_factory=list)

    def wrap(self, kernel: str, owner: object, attr: str) -> None:
        original = getattr(owner, attr)
        shadowed = isinstance(owner, ModuleType) or attr in getattr(owner, "__dict__", {})

        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(_Call(kernel, original, args, kwargs))
            return original(*args, **kwargs)

        setattr(owner, attr, recorded)
        if shadowed:
            self._undo.append(lambda: setattr(owner, attr, original))
        else:  # an instance attribute hiding the class's method: removing it restores the method
            self._undo.append(lambda: delattr(owner, attr))

    def take(self) -> list[_Call]:
        out, self.calls = self.calls, []
        return out

    def restore(self) -> None:
        while self._undo:
            self._undo.pop()()


def instrument(runtime: Any, recorder: KernelRecorder) -> list[str]:
    """Wrap the kernels ``runtime`` serves with; returns the kernels found (a missing collab index,
    ranker or ad server leaves its kernel out, and the report says so)."""
    import feedmix.components.candidate_hydrators.online_features_hydrator as hydrator

    found: list[str] = []
    indexes = runtime.indexes
    for slot in (indexes.content, indexes.collab) if indexes is not None else ():
        current = slot.current()
        if current is not None:
            recorder.wrap("ann_search", current.index, "search")
            found.append(f"ann_search:{slot.name}")
    recorder.wrap("feature_gather", hydrator, "read_entities")
    found.append("feature_gather")
    served = runtime.ranker.current() if runtime.ranker is not None else None
    if served is not None:
        recorder.wrap("model_inference", served[0], "predict")
        found.append("model_inference")
    if runtime.ads is not None:
        recorder.wrap("ad_decision", runtime.ads.server, "decide")
        found.append("ad_decision")
    return found


def _sources_out(body: dict[str, Any]) -> int | None:
    for stage in (body.get("trace") or {}).get("stages", ()):
        if stage.get("stage") == "sources":
            return int(stage.get("candidates_out") or 0)
    return None


def measure_floor(
    runtime: Any,
    users: Sequence[str],
    *,
    reps: int = 5,
    limit: int = 25,
    progress: bool = True,
) -> dict[str, Any]:
    """Serve each of ``users`` one home page, capture its kernel calls, replay them alone.

    Returns the floor in CPU ms per request, per kernel and in total, with the captured
    candidates per request so a reader can check the workload is the intended one.
    """
    if not users:
        raise ValueError("users must not be empty")
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    recorder = KernelRecorder()
    found = instrument(runtime, recorder)
    captured: list[list[_Call]] = []
    candidates: list[int] = []
    try:
        for user in tqdm(users, desc="floor: capture", file=sys.stderr, unit="req", disable=not progress):
            body = runtime.feeds.feed("home", user, limit=limit, debug=True)
            captured.append(recorder.take())
            n = _sources_out(body)
            if n is not None:
                candidates.append(n)
    finally:
        recorder.restore()
    for request in captured:  # once, untimed: the first call may build lazy state
        for call in request:
            call.fn(*call.args, **call.kwargs)
    cpu_s: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    # each pass replays every request in turn, so a call meets the caches the previous requests'
    # different inputs left behind, as in a stream of requests (back-to-back repeats of one call
    # would keep its data hot and flatter the floor)
    for _ in tqdm(range(reps), desc="floor: replay", file=sys.stderr, unit="pass", disable=not progress):
        for request in captured:
            for call in request:
                t0 = time.process_time()
                call.fn(*call.args, **call.kwargs)
                cpu_s[call.kernel] += (time.process_time() - t0) / reps
                calls[call.kernel] += 1
    for kernel in calls:
        calls[kernel] //= reps
    n_req = len(captured)
    kernels = {
        k: {"calls_per_request": calls[k] / n_req, "cpu_ms_per_request": 1000.0 * cpu_s[k] / n_req}
        for k in KERNELS
        if calls[k]
    }
    return {
        "requests": n_req,
        "reps": reps,
        "instrumented": found,
        "kernels": kernels,
        "floor_cpu_ms_per_request": sum(v["cpu_ms_per_request"] for v in kernels.values()),
        "candidates_per_request": (sum(candidates) / len(candidates)) if candidates else None,
    }


def overhead_ratio(cpu_ms_per_request: float | None, floor_ms: float | None) -> float | None:
    """CPU per request over the floor; None when either is unknown or the floor is zero."""
    if cpu_ms_per_request is None or not floor_ms:
        return None
    return cpu_ms_per_request / floor_ms

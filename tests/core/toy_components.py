"""Small components for framework contract tests: each does one observable thing."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from feedmix.core import (
    CandidateBatch,
    CandidateHydrator,
    CandidateSource,
    Filter,
    Gate,
    ParamSpec,
    QueryHydrator,
    Scorer,
    Selector,
    SideEffect,
)
from feedmix.core.components import PARAM_OVERRIDES, ParamHydrator
from feedmix.core.pipeline import ComponentRegistry


class Calls:
    def __init__(self) -> None:
        self.count: dict[str, int] = {}
        self.side_effects: list[str] = []

    def hit(self, name: str) -> None:
        self.count[name] = self.count.get(name, 0) + 1


class RangeSource(CandidateSource):
    PARAMS = (ParamSpec("n", int, 10, "how many", min=0, max=1000),)

    def __init__(self, identifier: str, calls: Calls, start: int = 0) -> None:
        super().__init__(identifier)
        self.calls, self.start = calls, start

    def fetch(self, query: Any) -> CandidateBatch:
        self.calls.hit(self.identifier)
        n = int(self.param(query, "n"))
        ids = np.arange(self.start, self.start + n)
        return CandidateBatch(ids, {"value": ids.astype(np.float64)})


class FailingSource(CandidateSource):
    def __init__(self, identifier: str, calls: Calls) -> None:
        super().__init__(identifier)
        self.calls = calls

    def fetch(self, query: Any) -> CandidateBatch:
        self.calls.hit(self.identifier)
        raise RuntimeError("source exploded")


class BlockingSource(CandidateSource):
    """Blocks until the test releases it: proves the executor did not wait, without timing."""

    def __init__(self, identifier: str, calls: Calls, release: threading.Event) -> None:
        super().__init__(identifier)
        self.calls, self.release = calls, release

    def fetch(self, query: Any) -> CandidateBatch:
        self.calls.hit(self.identifier)
        self.release.wait(30)
        return CandidateBatch(np.array([999]), {"value": np.array([999.0])})


class ConstHydrator(QueryHydrator):
    def __init__(self, identifier: str, calls: Calls, fail: bool = False) -> None:
        super().__init__(identifier)
        self.calls, self.fail = calls, fail

    def hydrate(self, query: Any) -> dict[str, Any]:
        self.calls.hit(self.identifier)
        if self.fail:
            raise ValueError("hydrator exploded")
        return {"user.min_value": 3.0}


class DoubleHydrator(CandidateHydrator):
    def hydrate(self, query: Any, batch: CandidateBatch) -> dict[str, Any]:
        return {"double": batch.column("value") * 2}


class MinValueFilter(Filter):
    def __init__(
        self, identifier: str, calls: Calls, fail: bool = False, block: threading.Event | None = None
    ):
        super().__init__(identifier)
        self.calls, self.fail, self.block = calls, fail, block

    def keep(self, query: Any, batch: CandidateBatch) -> Any:
        self.calls.hit(self.identifier)
        if self.block is not None:
            self.block.wait(30)
        if self.fail:
            raise RuntimeError("filter exploded")
        return batch.column("value") >= query.feature("user.min_value", 0.0)


class EssentialFilter(MinValueFilter):
    essential = True


class ValueScorer(Scorer):
    def __init__(self, identifier: str, calls: Calls, fail: bool = False, sign: float = 1.0) -> None:
        super().__init__(identifier)
        self.calls, self.fail, self.sign = calls, fail, sign

    def score(self, query: Any, batch: CandidateBatch) -> Any:
        self.calls.hit(self.identifier)
        if self.fail:
            raise RuntimeError("scorer exploded")
        return self.sign * batch.column("value")


class EvenSelector(Selector):
    def select(self, query: Any, batch: CandidateBatch) -> Any:
        return np.flatnonzero(batch.ids % 2 == 0)


class BadSelector(Selector):
    def select(self, query: Any, batch: CandidateBatch) -> Any:
        return np.array([len(batch) + 5])


class RecordingSideEffect(SideEffect):
    def __init__(
        self, identifier: str, calls: Calls, fail: bool = False, block: threading.Event | None = None
    ):
        super().__init__(identifier)
        self.calls, self.fail, self.block = calls, fail, block

    def run(self, query: Any, result: Any) -> None:
        if self.block is not None:
            self.block.wait(30)
        if self.fail:
            raise RuntimeError("side effect exploded")
        self.calls.side_effects.append(query.request_id)


class UserGate(Gate):
    def __init__(self, identifier: str, deny: str = "blocked") -> None:
        super().__init__(identifier)
        self.deny = deny

    def allow(self, query: Any) -> bool:
        return bool(query.user_id != self.deny)


class ParamDecider(ParamHydrator):
    """Decides params for the request (an experiment, in miniature): ``a.n`` for user u1."""

    WRITES_QUERY = ("decided",)

    def __init__(self, identifier: str, calls: Calls, overrides: dict[str, Any], fail: bool = False) -> None:
        super().__init__(identifier)
        self.calls, self.overrides, self.fail = calls, overrides, fail

    def hydrate(self, query: Any) -> dict[str, Any]:
        self.calls.hit(self.identifier)
        if self.fail:
            raise RuntimeError("assignment exploded")
        return {"decided": True, PARAM_OVERRIDES: self.overrides}


def toy_registry() -> ComponentRegistry:
    r = ComponentRegistry()
    r.register("range", lambda i, d, **o: RangeSource(i, d, **o))
    r.register("failing", lambda i, d, **o: FailingSource(i, d, **o))
    r.register("blocking", lambda i, d, **o: BlockingSource(i, d, **o))
    r.register("const", lambda i, d, **o: ConstHydrator(i, d, **o))
    r.register("double", lambda i, d, **o: DoubleHydrator(i, **o))
    r.register("min_value", lambda i, d, **o: MinValueFilter(i, d, **o))
    r.register("essential_min_value", lambda i, d, **o: EssentialFilter(i, d, **o))
    r.register("value_scorer", lambda i, d, **o: ValueScorer(i, d, **o))
    r.register("even", lambda i, d, **o: EvenSelector(i, **o))
    r.register("bad_selector", lambda i, d, **o: BadSelector(i, **o))
    r.register("recording", lambda i, d, **o: RecordingSideEffect(i, d, **o))
    r.register("user_gate", lambda i, d, **o: UserGate(i, **o))
    r.register("defaulting", lambda i, d, **o: DefaultingHydrator(i, **o))
    r.register("thread_recording", lambda i, d, **o: ThreadRecordingSource(i, d, **o))
    r.register("param_decider", lambda i, d, **o: ParamDecider(i, d, **o))
    return r


class ThreadRecordingSource(CandidateSource):
    """Records which thread ran it, to check the inline/pool placement."""

    def __init__(self, identifier: str, calls: Calls, inline: bool = False) -> None:
        super().__init__(identifier)
        self.calls, self.inline = calls, inline
        self.thread: int | None = None

    def fetch(self, query: Any) -> CandidateBatch:
        self.thread = threading.get_ident()
        return CandidateBatch(np.array([1, 2]), {"value": np.array([1.0, 2.0])})


class DefaultingHydrator(CandidateHydrator):
    """Its store is 'down': it answers with defaults through Fallback."""

    def hydrate(self, query: Any, batch: CandidateBatch) -> dict[str, Any]:
        from feedmix.core import Fallback

        raise Fallback({"double": np.zeros(len(batch))}, "store unavailable, defaults used")

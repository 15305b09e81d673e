"""Every contract the framework holds a component to, checked on one component in one call.

The executor relies on these and cannot check them per request without paying for it on every
request: outputs of the declared shape and dtype (on an empty batch too: a filter that removed
everything upstream still hands the next stage an empty batch), inputs left untouched (batches share
arrays between stages, so a write in place corrupts a neighbour's columns), declared params that are
valid, the same output for the same request (a replayed request, a shadow run and an experiment's
comparison all assume it), and a kill switch that really stops it (the component is never called
when ``<id>.enabled`` is false, run through the real executor).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import (
    Blender,
    CandidateHydrator,
    CandidateSource,
    Component,
    Fallback,
    Filter,
    Gate,
    QueryHydrator,
    Scorer,
    Selector,
    SideEffect,
)
from feedmix.core.executor import PipelineExecutor, PipelineResult
from feedmix.core.params import ParamError
from feedmix.core.pipeline import SLOTS, Pipeline, PipelineConfig
from feedmix.core.query import Query
from feedmix.core.trace import RequestTrace
from feedmix.testing.batch_builder import read_only


class ContractViolation(AssertionError):
    """A component broke a framework contract; the message names the component and the contract."""


@dataclass
class ContractReport:
    component: str
    kind: str
    #: the contracts checked, in order
    checked: list[str] = field(default_factory=list)
    #: the calls that answered with a ``Fallback`` (their value was checked in place of an output)
    fallbacks: list[str] = field(default_factory=list)


def check_component(
    component: Component,
    query: Query,
    batch: CandidateBatch | None = None,
    *,
    result: PipelineResult | None = None,
) -> ContractReport:
    """Run every contract on ``component`` with ``query`` (which must hold its params) and ``batch``
    (its input, for the kinds that take one; a side effect gets ``result``, or one made of ``batch``).
    Returns what was checked; raises :class:`ContractViolation` at the first broken contract."""
    report = ContractReport(component.identifier, component.KIND)
    with _pinned_clock(component):
        _check(component, query, batch, result, report)
    return report


@contextlib.contextmanager
def _pinned_clock(component: Component) -> Iterator[None]:
    """A component that reads the wall clock takes it as its ``clock`` attribute (tokens carry when
    they were issued); the checks pin it to one instant, so "the same request" means the same time."""
    clock = getattr(component, "clock", None)
    if not callable(clock):
        yield
        return
    instant = clock()
    component.clock = lambda: instant  # type: ignore[attr-defined]
    try:
        yield
    finally:
        component.clock = clock  # type: ignore[attr-defined]


def _check(
    component: Component,
    query: Query,
    batch: CandidateBatch | None,
    result: PipelineResult | None,
    report: ContractReport,
) -> None:
    ctx = _Checker(component, report)
    ctx.params_valid(query)
    batch = read_only(batch if batch is not None else CandidateBatch.empty())
    query = _frozen_query(query)
    runs: tuple[tuple[str, CandidateBatch], ...] = (
        ("non-empty", batch),
        ("empty", batch.take(np.empty(0, dtype=np.intp))),
    )
    if not _takes_batch(component):
        runs = (("request", batch),)
    for label, b in runs:
        if label == "non-empty" and len(batch) == 0:
            continue
        before = _frozen_query(query)
        first = ctx.output_ok(label, query, b, result)
        ctx.unchanged(label, before, query)
        again = ctx.call(label, query, b, result)
        ctx.same(label, first, again)
    ctx.kill_switch(query, batch, result)


# -- the checks --------------------------------------------------------------------------------


class _Checker:
    def __init__(self, component: Component, report: ContractReport) -> None:
        self.c = component
        self.report = report

    def fail(self, contract: str, detail: str) -> ContractViolation:
        return ContractViolation(
            f"component {self.c.identifier!r} ({type(self.c).__name__}): {contract}: {detail}"
        )

    def passed(self, contract: str) -> None:
        self.report.checked.append(contract)

    def params_valid(self, query: Query) -> None:
        specs = self.c.declared_params()
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise self.fail("declared params", f"a param is declared twice in {names}")
        for spec in specs:
            if not spec.name.startswith(f"{self.c.identifier}."):
                raise self.fail("declared params", f"{spec.name!r} is not under its identifier")
            try:
                spec.validate(spec.default)
                query.params[spec.name]
            except ParamError as exc:
                raise self.fail("declared params", str(exc)) from None
        if query.params[f"{self.c.identifier}.enabled"] is not True:
            raise self.fail("declared params", "the query must hold the kill switch at its default (on)")
        self.passed("declared params are valid and in the query")

    def call(self, label: str, query: Query, batch: CandidateBatch, result: PipelineResult | None) -> Any:
        try:
            return _invoke(self.c, query, batch, result)
        except Fallback as fb:
            self.report.fallbacks.append(f"{label}: {fb.reason}")
            return fb.value
        except ValueError as exc:
            if "read-only" in str(exc):
                raise self.fail("input not mutated", f"wrote into an input array ({label})") from exc
            raise self.fail(f"runs ({label})", repr(exc)) from exc
        except Exception as exc:
            raise self.fail(f"runs ({label})", repr(exc)) from exc

    def output_ok(
        self, label: str, query: Query, batch: CandidateBatch, result: PipelineResult | None
    ) -> Any:
        out = self.call(label, query, batch, result)
        problem = _shape_problem(self.c, query, batch, out)
        if problem:
            raise self.fail(f"output shape and dtype ({label})", problem)
        self.passed(f"output shape and dtype ({label})")
        return out

    def unchanged(self, label: str, before: Query, query: Query) -> None:
        # arrays are read-only, so an in-place write already failed; this catches a replaced entry
        # of the query's mutable containers
        if not _equal(before.features, query.features) or not _equal(before.context, query.context):
            raise self.fail("input not mutated", f"changed the query's features or context ({label})")
        self.passed(f"input not mutated ({label})")

    def same(self, label: str, first: Any, again: Any) -> None:
        if not _equal(first, again):
            raise self.fail("deterministic under a seed", f"two calls with one request differ ({label})")
        self.passed(f"deterministic ({label})")

    def kill_switch(self, query: Query, batch: CandidateBatch, result: PipelineResult | None) -> None:
        """Through the real executor: off, the component is never called and traced ``disabled``."""
        calls: list[int] = []
        method = _METHOD[_kind_of(self.c)]
        original = getattr(self.c, method)

        def spy(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            return original(*args, **kwargs)

        setattr(self.c, method, spy)
        try:
            pipeline = _one_component_pipeline(self.c, batch)
            own = {k: v for k, v in query.params.as_dict().items() if k in pipeline.param_registry}
            off = replace(query, params=pipeline.params({**own, f"{self.c.identifier}.enabled": False}))
            executor = PipelineExecutor(workers=1)
            try:
                got = executor.run(pipeline, off)
            finally:
                executor.shutdown()
        finally:
            delattr(self.c, method)
        statuses = [
            c.status for s in got.trace.stages for c in s.components if c.component == self.c.identifier
        ]
        if calls:
            raise self.fail("respects its enable switch", "it was called with <id>.enabled = false")
        if _kind_of(self.c) != "side_effects" and statuses != ["disabled"]:
            raise self.fail("respects its enable switch", f"traced as {statuses}, not ['disabled']")
        self.passed("respects its enable switch")


# -- per kind ----------------------------------------------------------------------------------

_METHOD = {
    "gates": "allow",
    "query_hydrators": "hydrate",
    "sources": "fetch",
    "candidate_hydrators": "hydrate",
    "filters": "keep",
    "scorers": "score",
    "selectors": "select",
    "blenders": "blend",
    "side_effects": "run",
}


def _kind_of(component: Component) -> str:
    for slot, base in SLOTS.items():
        if isinstance(component, base):
            return slot
    raise TypeError(f"{type(component).__name__} is no component kind")


def _takes_batch(component: Component) -> bool:
    return isinstance(component, (CandidateHydrator, Filter, Scorer, Selector, Blender, SideEffect))


def _invoke(c: Component, query: Query, batch: CandidateBatch, result: PipelineResult | None) -> Any:
    if isinstance(c, Gate):
        return c.allow(query)
    if isinstance(c, QueryHydrator):
        return c.hydrate(query)
    if isinstance(c, CandidateSource):
        return c.fetch(query)
    if isinstance(c, (CandidateHydrator, Filter, Scorer, Selector, Blender)):
        return _METHOD_CALL[_kind_of(c)](c, query, batch)
    if isinstance(c, SideEffect):
        given = result if result is not None and len(batch) else None
        c.run(query, given or PipelineResult(query, batch, RequestTrace("kit", query.request_id), ["kit"]))
        return None
    raise TypeError(f"{type(c).__name__} is no component kind")


_METHOD_CALL: dict[str, Callable[[Any, Query, CandidateBatch], Any]] = {
    "candidate_hydrators": lambda c, q, b: c.hydrate(q, b),
    "filters": lambda c, q, b: c.keep(q, b),
    "scorers": lambda c, q, b: c.score(q, b),
    "selectors": lambda c, q, b: c.select(q, b),
    "blenders": lambda c, q, b: c.blend(q, b),
}


def _shape_problem(c: Component, query: Query, batch: CandidateBatch, out: Any) -> str | None:
    n = len(batch)
    kind = _kind_of(c)
    if kind == "gates":
        return (
            None if isinstance(out, (bool, np.bool_)) else f"allow returned {type(out).__name__}, not a bool"
        )
    if kind == "query_hydrators":
        if not isinstance(out, Mapping):
            return f"returned {type(out).__name__}, not a mapping of features"
        missing = sorted(_declared(c.writes_query) - set(out))
        return f"declared query features {missing} missing" if missing else None
    if kind == "sources":
        if not isinstance(out, CandidateBatch):
            return f"returned {type(out).__name__}, not a CandidateBatch"
        missing = sorted(_declared(c.writes) - set(out.column_names)) if len(out) else []
        return f"declared columns {missing} missing" if missing else None
    if kind == "candidate_hydrators":
        if not isinstance(out, Mapping):
            return f"returned {type(out).__name__}, not a mapping of columns"
        missing = sorted(_declared(c.writes) - set(out))
        if missing:
            return f"declared columns {missing} missing"
        bad = [k for k, v in out.items() if np.asarray(v).shape[:1] != (n,)]
        return f"columns {bad} are not {n} rows long" if bad else None
    if kind == "filters":
        mask = np.asarray(out)
        if mask.dtype != np.bool_ or mask.shape != (n,):
            return f"mask of dtype {mask.dtype} and shape {mask.shape}, not bool of shape ({n},)"
        return None
    if kind == "scorers":
        cols = out if isinstance(out, Mapping) else {"score": out}
        if "score" not in cols:
            return "a mapping without 'score'"
        for name, values in cols.items():
            arr = np.asarray(values)
            if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.floating):
                return f"{name!r} has dtype {arr.dtype} and shape {arr.shape}, not float of shape ({n},)"
        return None
    if kind == "selectors":
        picked = np.asarray(out)
        if picked.ndim != 1 or (picked.size and not np.issubdtype(picked.dtype, np.integer)):
            return f"positions of dtype {picked.dtype} and shape {picked.shape}, not a 1-d integer array"
        if picked.size and (picked.min() < 0 or picked.max() >= n or len(np.unique(picked)) != len(picked)):
            return f"positions must be unique and in [0, {n})"
        return None
    if kind == "blenders":
        if not isinstance(out, CandidateBatch):
            return f"returned {type(out).__name__}, not a CandidateBatch"
        organic = out.ids[np.isin(out.ids, batch.ids)]
        if not np.array_equal(organic, batch.ids):
            return "the page's rows are not all kept in their order"
        return None
    return None if out is None else f"a side effect returned {type(out).__name__}"


def _declared(names: tuple[str, ...]) -> set[str]:
    return {n for n in names if not n.endswith(".*")}


class _FixedSource(CandidateSource):
    """The kill-switch pipeline's source: hands the executor the batch under test."""

    def __init__(self, identifier: str, batch: CandidateBatch) -> None:
        super().__init__(identifier)
        self.batch = batch

    def fetch(self, query: Query) -> CandidateBatch:
        return self.batch


def _one_component_pipeline(component: Component, batch: CandidateBatch) -> Pipeline:
    slots: dict[str, list[Component]] = {slot: [] for slot in SLOTS}
    kind = _kind_of(component)
    slots[kind].append(component)
    if kind != "sources":
        slots["sources"].append(_FixedSource("kit_fixed_source", batch))
    return Pipeline(PipelineConfig(name="kit", surface="kit"), slots, {})


def _frozen_query(query: Query) -> Query:
    """A copy of the query whose feature and context arrays are read-only copies."""

    def freeze(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            out = v.copy()
            out.flags.writeable = False
            return out
        try:
            return copy.deepcopy(v)
        except TypeError:  # holds a lock or a client: compared by identity
            return v

    return replace(
        query,
        features={k: freeze(v) for k, v in query.features.items()},
        context={k: freeze(v) for k, v in query.context.items()},
    )


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, CandidateBatch) and isinstance(b, CandidateBatch):
        return np.array_equal(a.ids, b.ids) and _equal(
            {k: a.column(k) for k in a.column_names}, {k: b.column(k) for k in b.column_names}
        )
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return set(a) == set(b) and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        if x.shape != y.shape or x.dtype != y.dtype:
            return False
        if x.dtype.kind in "fc":
            return bool(np.array_equal(x, y, equal_nan=True))
        return bool(np.array_equal(x, y))
    if dataclasses.is_dataclass(a) and not isinstance(a, type) and type(a) is type(b):
        return all(_equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)

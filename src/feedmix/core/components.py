"""One small interface per component type.

A product engineer writes a subclass with one method and, if it needs knobs, a ``PARAMS`` list.
Everything else (enable switch, timeout, failure handling, tracing, metrics) is the framework's.
Every component gets two params for free: ``<id>.enabled`` (the kill switch) and
``<id>.timeout_ms`` (0 = no own timeout; the request deadline still applies).

Components also declare the data they touch: ``READS``/``WRITES`` name candidate columns,
``READS_QUERY``/``WRITES_QUERY`` query features. Building a pipeline checks them in slot order, so
a column nobody upstream writes is a configuration error at startup, not a ``KeyError`` (or an
empty page) in the middle of a request. A name ending in ``.*`` stands for a family of columns
(``f.*``, ``score.*``) and is not checked. Components whose columns depend on their options set
the instance attributes (``self.reads_query = (feature,)``) in ``__init__``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def validate_identifier(identifier: str) -> str:
    if not isinstance(identifier, str) or not _IDENTIFIER.match(identifier):
        raise ValueError(
            f"component identifier {identifier!r} is invalid: use 1-64 lowercase letters, digits or _,"
            " starting with a letter"
        )
    return identifier


class Fallback(Exception):
    """Raised by a component that could not do its real work but has a safe answer.

    A feature hydrator whose store is down raises ``Fallback(defaults, "redis unavailable")``: the
    pipeline uses the defaults, and the trace and response report the component as degraded
    (status ``fallback``), so nobody mistakes default features for real ones.
    """

    def __init__(self, value: Any, reason: str) -> None:
        super().__init__(reason)
        self.value = value
        self.reason = reason


class Component:
    """Base of every component: an identifier, an owner and declared params.

    ``PARAMS`` are declared without the identifier prefix (``limit``); the pipeline registers
    them as ``<identifier>.limit`` so two instances of one class never collide.
    """

    KIND: ClassVar[str] = "component"
    PARAMS: ClassVar[Sequence[ParamSpec]] = ()
    #: the team that owns the component; cost accounting groups by it.
    owner: str = "feed"
    #: run even when the deadline has passed (cheap, correctness-relevant steps such as safety filters)
    essential: bool = False
    #: in a concurrent stage, run on the request thread instead of the pool. For in-process numpy work
    #: a thread hop costs more than it saves (the GIL serialises it anyway); components that wait on
    #: a network store leave this False so their waits overlap. Ignored when ``timeout_ms`` is set.
    inline: bool = False
    #: candidate columns read and written; query features read and written (see the module docstring)
    READS: ClassVar[tuple[str, ...]] = ()
    WRITES: ClassVar[tuple[str, ...]] = ()
    READS_QUERY: ClassVar[tuple[str, ...]] = ()
    WRITES_QUERY: ClassVar[tuple[str, ...]] = ()

    def __init__(self, identifier: str, **options: Any) -> None:
        self.identifier = validate_identifier(identifier)
        if options:
            raise TypeError(f"{type(self).__name__} got unknown options: {sorted(options)}")
        self.reads: tuple[str, ...] = tuple(self.READS)
        self.writes: tuple[str, ...] = tuple(self.WRITES)
        self.reads_query: tuple[str, ...] = tuple(self.READS_QUERY)
        self.writes_query: tuple[str, ...] = tuple(self.WRITES_QUERY)

    @classmethod
    def from_deps(cls, identifier: str, deps: Any, **options: Any) -> Component:
        """Build the component for a pipeline: constructor parameters named like an attribute of
        ``deps`` (the process's corpus, stores, indexes) are taken from it, the rest are the
        config's ``options``. Naming the parameter is all the wiring a component needs; a component
        whose parameters cannot match those names overrides this method.
        """
        params = list(inspect.signature(cls.__init__).parameters.values())[2:]  # self, identifier
        kwargs: dict[str, Any] = {}
        for param in params:
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or not hasattr(deps, param.name):
                continue
            if param.name in options:
                raise ValueError(f"option {param.name!r} is a dependency the process wires, not an option")
            value = getattr(deps, param.name)
            if value is None and param.default is param.empty:
                raise ValueError(f"needs the dependency {param.name!r}, which this process did not wire")
            if value is not None or param.default is param.empty:
                kwargs[param.name] = value
        return cls(identifier, **kwargs, **options)

    def param(self, query: Query, name: str) -> Any:
        return query.params[f"{self.identifier}.{name}"]

    def declared_params(self) -> list[ParamSpec]:
        own = [
            ParamSpec(f"{self.identifier}.enabled", bool, True, f"kill switch of {self.identifier}"),
            ParamSpec(
                f"{self.identifier}.timeout_ms",
                float,
                0.0,
                f"own timeout of {self.identifier} in ms (0: only the request deadline)",
                min=0,
                max=60_000,
            ),
        ]
        for spec in self.PARAMS:
            own.append(
                ParamSpec(
                    f"{self.identifier}.{spec.name}",
                    spec.type,
                    spec.default,
                    spec.description,
                    spec.min,
                    spec.max,
                    spec.choices,
                )
            )
        return own

    def enabled(self, query: Query) -> bool:
        return bool(query.params[f"{self.identifier}.enabled"])

    def timeout_s(self, query: Query) -> float | None:
        ms = float(query.params[f"{self.identifier}.timeout_ms"])
        return ms / 1000.0 if ms > 0 else None


class Gate(Component):
    """Decides whether the pipeline (or a component it is attached to) runs for this query."""

    KIND = "gate"

    def allow(self, query: Query) -> bool:
        raise NotImplementedError


class QueryHydrator(Component):
    """Adds query-level features (user profile, seen posts). Runs concurrently with its peers.

    It returns every feature it declares in ``WRITES_QUERY``, ``None`` where this request has no
    value (a user without a vector): readers then tell "nothing for this user" from "nobody wired
    the hydrator", which the build-time column check already ruled out.
    """

    KIND = "query_hydrator"

    def hydrate(self, query: Query) -> Mapping[str, Any]:
        raise NotImplementedError


class ParamHydrator(QueryHydrator):
    """A query hydrator that decides this request's params (experiment assignment).

    It runs before every other component, on the request thread, so what it decides reaches all of
    them: the overrides it returns under ``PARAM_OVERRIDES`` apply *under* the request's own ``p.``
    overrides (an explicit choice of the caller wins), and count as explicit for load shedding. If it
    fails, the request keeps the pipeline's params (the control) and names it in ``failed_components``.
    """

    def hydrate(self, query: Query) -> Mapping[str, Any]:
        raise NotImplementedError


#: the key of a ``ParamHydrator``'s output that holds its param overrides (not a query feature)
PARAM_OVERRIDES = "params.overrides"


class CandidateSource(Component):
    """Returns candidates for the query. Sources run concurrently under the request deadline."""

    KIND = "source"

    def fetch(self, query: Query) -> CandidateBatch:
        raise NotImplementedError


class CandidateHydrator(Component):
    """Adds feature columns for all candidates in one call (one round trip to a store)."""

    KIND = "candidate_hydrator"

    def hydrate(self, query: Query, batch: CandidateBatch) -> Mapping[str, npt.ArrayLike]:
        raise NotImplementedError


class Filter(Component):
    """Returns a boolean mask: True keeps the candidate."""

    KIND = "filter"

    def keep(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.bool_]:
        raise NotImplementedError


class Scorer(Component):
    """Returns the new ``score`` array, or a mapping with ``score`` plus named score parts.

    Score parts (for example ``score.quality``) are kept as columns so the trace and the
    console can say why an item ranks where it does.
    """

    KIND = "scorer"

    def score(
        self, query: Query, batch: CandidateBatch
    ) -> npt.NDArray[np.floating[Any]] | Mapping[str, npt.NDArray[Any]]:
        raise NotImplementedError


class Selector(Component):
    """Receives candidates sorted by score (best first) and returns the positions to keep, in order."""

    KIND = "selector"

    def select(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.integer[Any]]:
        raise NotImplementedError


class Blender(Component):
    """Mixes other items into the final page (ads into a feed): gets the selected page, best first
    and at most ``query.limit`` long, and returns the mixed page as one batch, the page's rows in
    their order with the new rows between them (told apart by a ``kind`` column). It runs under the
    same deadline, trace and failure policy as every other stage: if it fails, the page is served
    unmixed and the blender is named in ``failed_components``.
    """

    KIND = "blender"

    def blend(self, query: Query, batch: CandidateBatch) -> CandidateBatch:
        raise NotImplementedError


class SideEffect(Component):
    """Runs after the response is ready (impression logs, caches); can neither fail nor delay it."""

    KIND = "side_effect"

    def run(self, query: Query, result: Any) -> None:
        raise NotImplementedError


class SynchronousSideEffect(SideEffect):
    """A side effect the response depends on (the scroll session's record of what it served: without
    it page 2 could repeat page 1). It runs on the request thread after the page exists and before the
    response leaves; a failure is named in ``failed_components`` and the trace, never raised.
    """

    KIND = "synchronous_side_effect"

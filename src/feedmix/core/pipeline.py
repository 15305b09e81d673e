"""Pipelines as configuration: which components, in which slots, with which params.

A ``PipelineConfig`` is plain data (it can come from TOML). ``Pipeline.build`` turns it into
instances through a ``ComponentRegistry`` and checks everything that can be checked before the
first request: unknown component types, duplicate identifiers, bad options and out-of-bounds
param defaults all raise ``ConfigError`` at build time, never during a request.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from feedmix.core.components import (
    Blender,
    CandidateHydrator,
    CandidateSource,
    Component,
    Filter,
    Gate,
    QueryHydrator,
    Scorer,
    Selector,
    SideEffect,
    validate_identifier,
)
from feedmix.core.params import ParamError, ParamRegistry, Params, ParamSpec


class ConfigError(ValueError):
    """The pipeline configuration is wrong; raised when the pipeline is built."""


@dataclass(frozen=True)
class ComponentSpec:
    """One slot of a pipeline: a registered component type, its identifier and static options."""

    type: str
    id: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    #: identifiers of gates (declared in the pipeline's ``gates``) that must all allow this component
    gates: tuple[str, ...] = ()

    @property
    def identifier(self) -> str:
        return self.type if self.id is None else self.id

    @classmethod
    def parse(cls, raw: str | Mapping[str, Any] | ComponentSpec) -> ComponentSpec:
        if isinstance(raw, ComponentSpec):
            return raw
        if isinstance(raw, str):
            return cls(type=raw)
        if not isinstance(raw, Mapping) or "type" not in raw:
            raise ConfigError(f"a component slot must be a type name or a table with 'type': {raw!r}")
        unknown = set(raw) - {"type", "id", "options", "gates"}
        if unknown:
            raise ConfigError(f"component slot {raw.get('type')!r}: unknown keys {sorted(unknown)}")
        return cls(
            type=str(raw["type"]),
            id=raw.get("id"),
            options=dict(raw.get("options", {})),
            gates=tuple(raw.get("gates", ())),
        )


SLOTS: dict[str, type[Component]] = {
    "gates": Gate,
    "query_hydrators": QueryHydrator,
    "sources": CandidateSource,
    "candidate_hydrators": CandidateHydrator,
    "filters": Filter,
    "scorers": Scorer,
    "selectors": Selector,
    "blenders": Blender,
    "side_effects": SideEffect,
}
#: the columns the executor itself adds when it merges the sources
FRAMEWORK_COLUMNS = ("source", "score")


@dataclass
class PipelineConfig:
    name: str
    surface: str
    gates: Sequence[Any] = ()
    query_hydrators: Sequence[Any] = ()
    sources: Sequence[Any] = ()
    candidate_hydrators: Sequence[Any] = ()
    filters: Sequence[Any] = ()
    scorers: Sequence[Any] = ()
    selectors: Sequence[Any] = ()
    blenders: Sequence[Any] = ()
    side_effects: Sequence[Any] = ()
    #: overrides of param defaults for this pipeline (validated at build time)
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, name: str, raw: Mapping[str, Any]) -> PipelineConfig:
        unknown = set(raw) - set(SLOTS) - {"surface", "params"}
        if unknown:
            raise ConfigError(f"pipeline {name!r}: unknown keys {sorted(unknown)}")
        return cls(
            name=name, surface=str(raw.get("surface", name)), **{k: raw[k] for k in raw if k != "surface"}
        )


T = TypeVar("T", bound=Component)
Factory = Callable[..., Component]


def class_name_for(type_name: str) -> str:
    """The one naming rule: config type ``seen_posts_filter`` is module ``seen_posts_filter.py``
    holding class ``SeenPostsFilter``."""
    return "".join(part.capitalize() for part in type_name.split("_"))


def type_name_for(class_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


class ComponentRegistry:
    """Maps component type names to factories ``factory(identifier, deps, **options)``.

    ``deps`` is whatever the application wires in (corpus, stores); components take only what
    they need from it, which keeps them testable with in-memory dependencies.
    """

    def __init__(self) -> None:
        self._factories: dict[str, Factory] = {}
        self._owners: dict[str, str] = {}

    def register(self, type_name: str, factory: Factory) -> None:
        validate_identifier(type_name)
        if type_name in self._factories:
            raise ValueError(f"component type {type_name!r} is registered twice")
        self._factories[type_name] = factory

    def component(self, type_name: str) -> Callable[[Factory], Factory]:
        """Decorator form of ``register``."""

        def deco(factory: Factory) -> Factory:
            self.register(type_name, factory)
            return factory

        return deco

    def types(self) -> list[str]:
        return sorted(self._factories)

    def discover(self, package: str) -> list[str]:
        """Register every component module under ``package`` (one component per module, in one
        sub-package per kind), by the naming rule of :func:`class_name_for`; returns the types.

        A module that breaks the rule (no class of its name, a class that is no component, or a
        component of another kind than its folder) is an error here, so it can never be
        registered under a name nobody would guess.
        """
        root = importlib.import_module(package)
        found: list[str] = []
        for info in sorted(pkgutil.walk_packages(root.__path__, prefix=f"{package}."), key=lambda i: i.name):
            if info.ispkg:
                continue
            module = importlib.import_module(info.name)
            type_name = info.name.rsplit(".", 1)[-1]
            if type_name.startswith("_"):
                continue
            cls = getattr(module, class_name_for(type_name), None)
            if not isinstance(cls, type) or not issubclass(cls, Component):
                raise ConfigError(
                    f"{info.name} must define the component class {class_name_for(type_name)}"
                    " (module, class and type name follow one rule)"
                )
            folder = info.name.rsplit(".", 2)[-2]  # the kind's folder is named like its pipeline slot
            base = SLOTS.get(folder)
            if base is None or not issubclass(cls, base):
                raise ConfigError(f"{info.name}: {cls.__name__} is not a {folder[:-1]} (it is filed by kind)")
            self.register(type_name, cls.from_deps)
            found.append(type_name)
        return found

    def create(self, spec: ComponentSpec, deps: Any) -> Component:
        try:
            factory = self._factories[spec.type]
        except KeyError:
            raise ConfigError(f"unknown component type {spec.type!r} (registered: {self.types()})") from None
        try:
            return factory(spec.identifier, deps, **dict(spec.options))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"component {spec.identifier!r} ({spec.type}): {exc}") from exc


PIPELINE_PARAMS = (
    ParamSpec("pipeline.deadline_ms", float, 250.0, "request deadline in ms", min=1, max=10_000),
    ParamSpec(
        "pipeline.max_candidates", int, 2000, "candidates kept after merging sources", min=1, max=100_000
    ),
)


class Pipeline:
    """A built, validated pipeline: component instances per slot and its param registry."""

    def __init__(
        self, config: PipelineConfig, slots: dict[str, list[Component]], gates_of: dict[str, tuple[str, ...]]
    ):
        self.config = config
        self.name = config.name
        self.surface = config.surface
        self.gates: list[Gate] = slots["gates"]  # type: ignore[assignment]
        self.query_hydrators: list[QueryHydrator] = slots["query_hydrators"]  # type: ignore[assignment]
        self.sources: list[CandidateSource] = slots["sources"]  # type: ignore[assignment]
        self.candidate_hydrators: list[CandidateHydrator] = slots["candidate_hydrators"]  # type: ignore[assignment]
        self.filters: list[Filter] = slots["filters"]  # type: ignore[assignment]
        self.scorers: list[Scorer] = slots["scorers"]  # type: ignore[assignment]
        self.selectors: list[Selector] = slots["selectors"]  # type: ignore[assignment]
        self.blenders: list[Blender] = slots["blenders"]  # type: ignore[assignment]
        self.side_effects: list[SideEffect] = slots["side_effects"]  # type: ignore[assignment]
        self.components: dict[str, Component] = {c.identifier: c for s in slots.values() for c in s}
        self.component_gates = gates_of
        self.param_registry = ParamRegistry(PIPELINE_PARAMS)
        for comp in self.components.values():
            for spec in comp.declared_params():
                self.param_registry.add(spec)
        try:
            self.default_params: Params = self.param_registry.defaults(config.params)
        except ParamError as exc:
            raise ConfigError(f"pipeline {config.name!r}: {exc}") from exc

    @classmethod
    def build(cls, config: PipelineConfig, registry: ComponentRegistry, deps: Any = None) -> Pipeline:
        slots: dict[str, list[Component]] = {}
        seen: dict[str, str] = {}
        gates_of: dict[str, tuple[str, ...]] = {}
        for slot, base in SLOTS.items():
            built: list[Component] = []
            for raw in getattr(config, slot):
                spec = ComponentSpec.parse(raw)
                try:
                    validate_identifier(spec.identifier)
                except ValueError as exc:
                    raise ConfigError(f"pipeline {config.name!r}: {exc}") from None
                if spec.identifier in seen:
                    raise ConfigError(
                        f"pipeline {config.name!r}: duplicate component identifier {spec.identifier!r}"
                        f" (in {seen[spec.identifier]} and {slot})"
                    )
                seen[spec.identifier] = slot
                comp = registry.create(spec, deps)
                if not isinstance(comp, base):
                    raise ConfigError(
                        f"component {spec.identifier!r} is a {type(comp).__name__}, which cannot go in {slot}"
                    )
                built.append(comp)
                if spec.gates:
                    gates_of[spec.identifier] = spec.gates
            slots[slot] = built
        gate_ids = {g.identifier for g in slots["gates"]}
        for comp_id, gates in gates_of.items():
            missing = set(gates) - gate_ids
            if missing:
                raise ConfigError(f"component {comp_id!r} names undeclared gates {sorted(missing)}")
        if not slots["sources"]:
            raise ConfigError(f"pipeline {config.name!r} has no candidate sources")
        check_columns(config.name, slots)
        return cls(config, slots, gates_of)

    def params(self, overrides: Mapping[str, Any] | None = None) -> Params:
        """Pipeline defaults with per-request overrides; raises ``ParamError`` naming a bad one."""
        return self.default_params.override(overrides or {})

    def component_of(self, identifier: str, kind: type[T]) -> T:
        comp = self.components[identifier]
        assert isinstance(comp, kind)
        return comp


def _declared(names: Iterable[str]) -> set[str]:
    return {n for n in names if not n.endswith(".*")}


def check_columns(pipeline: str, slots: Mapping[str, Sequence[Component]]) -> None:
    """Every column and query feature a component reads is written upstream of it, in slot order.

    Query hydrators run concurrently, so what they write is available from the sources on; the
    sources' columns are merged (a column some source lacks is zero-filled), then each columnar
    stage adds what it writes for the stages after it.
    """
    query_features: set[str] = set()
    for comp in slots["query_hydrators"]:
        query_features |= set(comp.writes_query)
    columns: set[str] = set(FRAMEWORK_COLUMNS)
    for comp in slots["sources"]:
        columns |= set(comp.writes)
    for slot in SLOTS:
        if slot in ("gates", "query_hydrators"):
            continue
        for comp in slots[slot]:
            missing_q = sorted(_declared(comp.reads_query) - query_features)
            if missing_q:
                raise ConfigError(
                    f"pipeline {pipeline!r}: {slot} component {comp.identifier!r} reads query feature"
                    f" {missing_q[0]!r}, which no query hydrator writes (written: {sorted(query_features)})"
                )
            if slot != "sources":
                missing = sorted(_declared(comp.reads) - columns)
                if missing:
                    raise ConfigError(
                        f"pipeline {pipeline!r}: {slot} component {comp.identifier!r} reads column"
                        f" {missing[0]!r}, which nothing upstream writes (written: {sorted(columns)})"
                    )
                columns |= set(comp.writes)

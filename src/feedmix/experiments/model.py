"""What an experiment is, as every part of the system sees it: the value types and their own checks.

An experiment changes params (the knobs :mod:`feedmix.core.params` declares, with bounds) for a share
of the units of a layer, split across variants; the first variant is the control, the comparison
every analysis makes. Checks that need nothing but the definition (names, shares, weights, status
words) live here and raise :class:`ExperimentError` naming the field, so the API, the CLI and the
store answer a bad definition the same way. Checks that need the rest of the world (which params a
surface has, what else runs in the layer) are in :mod:`feedmix.experiments.rules`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from feedmix.core.params import ParamValue

Status = Literal["draft", "running", "stopped", "launched"]
#: what is randomised: a user (sticky across requests), a request (no memory), or an ad campaign
#: (budget-split experiments of the ads marketplace)
Unit = Literal["user", "request", "campaign"]
#: who may enter: everyone, users the directory does not know yet (cold start), or known users
UserKind = Literal["all", "new", "returning"]
#: ``budget_split``: an ads marketplace experiment; every campaign's daily budget is split across the
#: arms in proportion to their traffic, so the arms do not compete for one budget
Kind = Literal["standard", "budget_split"]

STATUSES: tuple[str, ...] = get_args(Status)
UNITS: tuple[str, ...] = get_args(Unit)
USER_KINDS: tuple[str, ...] = get_args(UserKind)
KINDS: tuple[str, ...] = get_args(Kind)

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: the global holdout's scope name in :meth:`ExperimentStore.holdouts` (a layer may not take it)
GLOBAL = "global"


class ExperimentError(ValueError):
    """A definition or a change that cannot be accepted; ``field`` names what to fix
    (``variants[1].weight``)."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        #: the HTTP status the API answers with (422 a bad value, 404 unknown, 409 a conflict)
        self.status = status


class NotFound(ExperimentError):
    def __init__(self, experiment_id: str) -> None:
        super().__init__("experiment_id", f"unknown experiment {experiment_id!r}", status=404)


@dataclass(frozen=True)
class Variant:
    name: str
    #: share of the experiment's covered units; weights are normalised to sum to 1 when checked
    weight: float
    #: param name -> value for units in this variant (the control usually overrides nothing)
    overrides: Mapping[str, ParamValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Targeting:
    """Who may enter: a unit outside the targeting is not in the experiment (and not exposed)."""

    user: UserKind = "all"
    #: the user joined at least one of these communities (empty: no condition)
    communities: tuple[str, ...] = ()
    #: the user's NSFW setting must be this (None: no condition)
    nsfw_opt_in: bool | None = None


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    owner: str
    hypothesis: str
    #: the pipelines (``home``, ``community``...) whose requests it changes
    surfaces: tuple[str, ...]
    variants: tuple[Variant, ...]
    layer: str = "default"
    unit: Unit = "user"
    kind: Kind = "standard"
    #: share of the layer's units reserved for it; the layer's running experiments never overlap
    allocation: float = 1.0
    #: share of that reservation in the experiment now (the ramp: 0.02 -> 0.1 -> 1); growing it keeps
    #: every unit already in the experiment in its variant
    coverage: float = 1.0
    targeting: Targeting = field(default_factory=Targeting)
    primary_metric: str = "engagement_per_user"
    guardrails: tuple[str, ...] = ()
    status: Status = "draft"
    #: salts the variant hash: a new version re-randomises every unit on purpose (and starts a new
    #: analysis period), the only way to change a running experiment's allocation
    bucket_version: int = 1
    #: where its reservation starts in the layer's [0, 1) hash space (set when it starts)
    range_start: float | None = None
    start_ts: float | None = None
    stop_ts: float | None = None
    #: when the current bucket version started: exposures before it belong to an earlier period
    period_start_ts: float | None = None
    created_ts: float = 0.0
    #: bumped by every change; a writer that read revision r may only write over r
    revision: int = 0

    @property
    def control(self) -> Variant:
        return self.variants[0]

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise ExperimentError("variant", f"experiment {self.experiment_id!r} has no variant {name!r}")

    def params(self) -> set[str]:
        """Every param some variant overrides."""
        return {name for v in self.variants for name in v.overrides}

    def replace(self, **changes: Any) -> Experiment:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["variants"] = [{**dataclasses.asdict(v), "overrides": dict(v.overrides)} for v in self.variants]
        return out


def experiment_from_dict(raw: Mapping[str, Any]) -> Experiment:
    """An experiment from JSON-like data (the API's body, the CLI's file), every field checked.

    Unknown keys are refused (a typo must not silently do nothing), and so are the fields the
    system sets (status, ranges, times, revision): a new experiment is always a draft.
    """
    if not isinstance(raw, Mapping):
        raise ExperimentError("body", "expected an object")
    settable = {
        "experiment_id",
        "owner",
        "hypothesis",
        "surfaces",
        "variants",
        "layer",
        "unit",
        "kind",
        "allocation",
        "coverage",
        "targeting",
        "primary_metric",
        "guardrails",
    }
    unknown = sorted(set(raw) - settable)
    if unknown:
        raise ExperimentError(unknown[0], f"unknown or read-only field (settable: {sorted(settable)})")
    for required in ("experiment_id", "owner", "hypothesis", "surfaces", "variants"):
        if required not in raw:
            raise ExperimentError(required, "is required")
    variants = _list(raw["variants"], "variants")
    exp = Experiment(
        experiment_id=_str(raw["experiment_id"], "experiment_id"),
        owner=_str(raw["owner"], "owner"),
        hypothesis=_str(raw["hypothesis"], "hypothesis"),
        surfaces=tuple(_str(s, f"surfaces[{i}]") for i, s in enumerate(_list(raw["surfaces"], "surfaces"))),
        variants=tuple(_variant(v, f"variants[{i}]") for i, v in enumerate(variants)),
        layer=_str(raw.get("layer", "default"), "layer"),
        unit=_str(raw.get("unit", "user"), "unit"),  # type: ignore[arg-type]
        kind=_str(raw.get("kind", "standard"), "kind"),  # type: ignore[arg-type]
        allocation=_number(raw.get("allocation", 1.0), "allocation"),
        coverage=_number(raw.get("coverage", 1.0), "coverage"),
        targeting=_targeting(raw.get("targeting", {})),
        primary_metric=_str(raw.get("primary_metric", "engagement_per_user"), "primary_metric"),
        guardrails=tuple(
            _str(g, f"guardrails[{i}]") for i, g in enumerate(_list(raw.get("guardrails", []), "guardrails"))
        ),
    )
    return check_definition(exp)


def check_definition(exp: Experiment) -> Experiment:
    """The experiment with normalised weights, or ``ExperimentError`` naming the first bad field."""
    if not _ID.match(exp.experiment_id):
        raise ExperimentError("experiment_id", "use 1-64 of a-z 0-9 _ -, starting with a letter or digit")
    if not exp.owner.strip():
        raise ExperimentError("owner", "must not be empty")
    if not exp.hypothesis.strip():
        raise ExperimentError("hypothesis", "must not be empty: say what you expect and why")
    if not exp.surfaces:
        raise ExperimentError("surfaces", "name at least one surface")
    if len(set(exp.surfaces)) != len(exp.surfaces):
        raise ExperimentError("surfaces", "a surface is named twice")
    if exp.unit not in UNITS:
        raise ExperimentError("unit", f"must be one of {list(UNITS)}, got {exp.unit!r}")
    if exp.kind not in KINDS:
        raise ExperimentError("kind", f"must be one of {list(KINDS)}, got {exp.kind!r}")
    if not _NAME.match(exp.layer) or exp.layer == GLOBAL:
        raise ExperimentError("layer", f"use 1-64 of A-Z a-z 0-9 _ . - (not {GLOBAL!r})")
    _share(exp.allocation, "allocation", allow_zero=False)
    _share(exp.coverage, "coverage", allow_zero=True)
    if len(exp.variants) < 2:
        raise ExperimentError("variants", "an experiment needs a control and at least one treatment")
    names = [v.name for v in exp.variants]
    for i, v in enumerate(exp.variants):
        if not _NAME.match(v.name):
            raise ExperimentError(f"variants[{i}].name", "use 1-64 of A-Z a-z 0-9 _ . -")
        if names.index(v.name) != i:
            raise ExperimentError(f"variants[{i}].name", f"{v.name!r} is used twice")
        if not (math.isfinite(v.weight) and v.weight > 0):
            raise ExperimentError(f"variants[{i}].weight", f"must be a positive number, got {v.weight!r}")
    if exp.targeting.user not in USER_KINDS:
        raise ExperimentError("targeting.user", f"must be one of {list(USER_KINDS)}")
    total = sum(v.weight for v in exp.variants)
    variants = tuple(dataclasses.replace(v, weight=v.weight / total) for v in exp.variants)
    return exp.replace(variants=variants)


def _share(value: float, name: str, allow_zero: bool) -> None:
    low_ok = value >= 0 if allow_zero else value > 0
    if not (math.isfinite(value) and low_ok and value <= 1):
        bound = "[0, 1]" if allow_zero else "(0, 1]"
        raise ExperimentError(name, f"must be a share in {bound}, got {value!r}")


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ExperimentError(name, f"expected a string, got {value!r}")
    return value


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExperimentError(name, f"expected a number, got {value!r}")
    return float(value)


def _list(value: Any, name: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise ExperimentError(name, f"expected a list, got {value!r}")
    return value


def _variant(raw: Any, name: str) -> Variant:
    if not isinstance(raw, Mapping):
        raise ExperimentError(name, "expected an object with name, weight, overrides")
    unknown = sorted(set(raw) - {"name", "weight", "overrides"})
    if unknown:
        raise ExperimentError(f"{name}.{unknown[0]}", "unknown field (use name, weight, overrides)")
    overrides = raw.get("overrides", {})
    if not isinstance(overrides, Mapping):
        raise ExperimentError(f"{name}.overrides", "expected an object of param -> value")
    for key, value in overrides.items():
        if not isinstance(value, bool | int | float | str):
            raise ExperimentError(f"{name}.overrides.{key}", "expected a number, boolean or string")
    return Variant(
        name=_str(raw.get("name"), f"{name}.name"),
        weight=_number(raw.get("weight", 1.0), f"{name}.weight"),
        overrides=dict(overrides),
    )


def _targeting(raw: Any) -> Targeting:
    if not isinstance(raw, Mapping):
        raise ExperimentError("targeting", "expected an object")
    unknown = sorted(set(raw) - {"user", "communities", "nsfw_opt_in"})
    if unknown:
        raise ExperimentError(f"targeting.{unknown[0]}", "unknown field (use user, communities, nsfw_opt_in)")
    nsfw = raw.get("nsfw_opt_in")
    if nsfw is not None and not isinstance(nsfw, bool):
        raise ExperimentError("targeting.nsfw_opt_in", "expected true, false or null")
    communities = _list(raw.get("communities", []), "targeting.communities")
    return Targeting(
        user=_str(raw.get("user", "all"), "targeting.user"),  # type: ignore[arg-type]
        communities=tuple(_str(c, f"targeting.communities[{i}]") for i, c in enumerate(communities)),
        nsfw_opt_in=nsfw,
    )


def experiment_from_stored(raw: Mapping[str, Any]) -> Experiment:
    """An experiment from its own ``as_dict`` (what a store wrote): trusted, so not re-checked, and
    fields a newer version added are left at their defaults when an older row lacks them."""
    known = {f.name for f in dataclasses.fields(Experiment)}
    values = {k: v for k, v in raw.items() if k in known}
    values["surfaces"] = tuple(values["surfaces"])
    values["guardrails"] = tuple(values.get("guardrails", ()))
    values["variants"] = tuple(
        Variant(v["name"], float(v["weight"]), dict(v["overrides"])) for v in raw["variants"]
    )
    t = raw.get("targeting") or {}
    values["targeting"] = Targeting(
        user=t.get("user", "all"),
        communities=tuple(t.get("communities", ())),
        nsfw_opt_in=t.get("nsfw_opt_in"),
    )
    return Experiment(**values)

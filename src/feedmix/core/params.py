"""Typed, bounded params with per-request overrides.

Params are the knobs experiments turn: every one is declared once with a type, a default and
bounds, so an override from a request or an experiment is validated the same way and a typo
fails loudly instead of silently doing nothing.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ParamValue = bool | int | float | str


class ParamError(ValueError):
    """A param override that is unknown, of the wrong type or out of bounds; names the param."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"param {name!r}: {message}")
        self.name = name


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: type
    default: ParamValue
    description: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.type not in (bool, int, float, str):
            raise TypeError(f"param {self.name!r}: type must be bool, int, float or str")
        self.validate(self.default)

    def validate(self, value: Any) -> ParamValue:
        """Coerce ``value`` (possibly a query-string str) to this param's type, checking bounds."""
        v: ParamValue
        if self.type is bool:
            if isinstance(value, bool):
                v = value
            elif isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
                v = True
            elif isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
                v = False
            else:
                raise ParamError(self.name, f"expected a boolean, got {value!r}")
            return v
        if self.type is int:
            if isinstance(value, bool):
                raise ParamError(self.name, f"expected an integer, got {value!r}")
            try:
                v = int(value)
                if isinstance(value, float) and value != v:
                    raise ValueError
            except (TypeError, ValueError):
                raise ParamError(self.name, f"expected an integer, got {value!r}") from None
        elif self.type is float:
            if isinstance(value, bool):
                raise ParamError(self.name, f"expected a number, got {value!r}")
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise ParamError(self.name, f"expected a number, got {value!r}") from None
            if v != v:  # NaN
                raise ParamError(self.name, "NaN is not allowed")
        else:
            if not isinstance(value, str):
                raise ParamError(self.name, f"expected a string, got {value!r}")
            if self.choices is not None and value not in self.choices:
                raise ParamError(self.name, f"must be one of {list(self.choices)}, got {value!r}")
            return value
        if self.min is not None and v < self.min:
            raise ParamError(self.name, f"{v} is below the minimum {self.min}")
        if self.max is not None and v > self.max:
            raise ParamError(self.name, f"{v} is above the maximum {self.max}")
        return v


class ParamRegistry:
    """Every param a pipeline knows, with its declared default."""

    def __init__(self, specs: Iterable[ParamSpec] = ()) -> None:
        self._specs: dict[str, ParamSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ParamSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"param {spec.name!r} is declared twice")
        self._specs[spec.name] = spec

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def spec(self, name: str) -> ParamSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise ParamError(name, "unknown param") from None

    def specs(self) -> list[ParamSpec]:
        return [self._specs[k] for k in sorted(self._specs)]

    def defaults(self, overrides: Mapping[str, Any] | None = None) -> Params:
        """Params with declared defaults, then ``overrides`` (pipeline config) validated on top."""
        values: dict[str, ParamValue] = {k: s.default for k, s in self._specs.items()}
        for name, raw in (overrides or {}).items():
            values[name] = self.spec(name).validate(raw)
        return Params(values, self)


class Params:
    """Resolved param values for one request. Read-only; ``override`` returns a new object."""

    __slots__ = ("_registry", "_values", "explicit")

    def __init__(
        self,
        values: Mapping[str, ParamValue],
        registry: ParamRegistry,
        explicit: frozenset[str] = frozenset(),
    ) -> None:
        self._values = dict(values)
        self._registry = registry
        #: the names a request (or an experiment) set itself: load shedding leaves those alone
        self.explicit = explicit

    def __getitem__(self, name: str) -> ParamValue:
        try:
            return self._values[name]
        except KeyError:
            raise ParamError(name, "unknown param") from None

    def get(self, name: str, default: ParamValue | None = None) -> ParamValue | None:
        return self._values.get(name, default)

    def int(self, name: str) -> int:
        return int(self[name])

    def float(self, name: str) -> float:
        return float(self[name])

    def bool(self, name: str) -> bool:
        return bool(self[name])

    def override(self, overrides: Mapping[str, Any], explicit: builtins.bool = True) -> Params:
        """Validate every override first, so a bad one changes nothing. ``explicit=False`` marks an
        adjustment by the platform (load shedding) rather than a choice of the request."""
        checked = {name: self._registry.spec(name).validate(raw) for name, raw in overrides.items()}
        values = dict(self._values)
        values.update(checked)
        names = self.explicit | frozenset(checked) if explicit else self.explicit
        return Params(values, self._registry, names)

    def as_dict(self) -> dict[str, ParamValue]:
        return dict(self._values)

"""The request as components see it: who, where, which params, and how much time is left."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from feedmix.core.params import Params


class Deadline:
    """An absolute point on the monotonic clock by which the response must be ready."""

    __slots__ = ("budget_s", "expires_at")

    def __init__(self, budget_s: float, start: float | None = None) -> None:
        self.budget_s = budget_s
        self.expires_at = (time.perf_counter() if start is None else start) + budget_s

    @classmethod
    def from_ms(cls, ms: float) -> Deadline:
        return cls(ms / 1000.0)

    def remaining_s(self) -> float:
        return max(0.0, self.expires_at - time.perf_counter())

    def expired(self) -> bool:
        return time.perf_counter() >= self.expires_at


@dataclass(frozen=True)
class Query:
    """One feed request.

    ``features`` holds what query hydrators learned (the user's communities, seen posts...);
    ``context`` holds request inputs that are not params (the community of a community feed,
    the ids already served in this scroll session). ``annotations`` is the one mutable part:
    what components report about this request for the logs (the ranker's model version), shared
    by every copy ``with_features`` makes, so a side effect sees what a scorer wrote.
    """

    user_id: str
    surface: str
    params: Params
    deadline: Deadline
    request_id: str
    now: float
    limit: int = 25
    debug: bool = False
    context: Mapping[str, Any] = field(default_factory=dict)
    features: Mapping[str, Any] = field(default_factory=dict)
    annotations: dict[str, Any] = field(default_factory=dict, compare=False)

    def feature(self, name: str, default: Any = None) -> Any:
        return self.features.get(name, default)

    def with_features(self, extra: Mapping[str, Any]) -> Query:
        merged = dict(self.features)
        merged.update(extra)
        return dataclasses.replace(self, features=merged)

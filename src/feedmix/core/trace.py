"""What happened inside one request: per stage and per component, time, CPU, counts, errors."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["ok", "error", "timeout", "fallback", "disabled", "gated", "skipped"]


@dataclass
class ComponentTrace:
    component: str
    kind: str
    status: Status = "ok"
    wall_ms: float = 0.0
    cpu_ms: float = 0.0
    candidates_in: int = 0
    candidates_out: int = 0
    error: str | None = None
    owner: str = "feed"
    #: when it started, in ms after the request started (with ``wall_ms``: a span for a tracer)
    start_ms: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in ("error", "timeout", "fallback", "skipped")


@dataclass
class StageTrace:
    stage: str
    wall_ms: float = 0.0
    cpu_ms: float = 0.0
    candidates_in: int = 0
    candidates_out: int = 0
    components: list[ComponentTrace] = field(default_factory=list)
    #: CPU spent on pool threads (not in the request thread's own CPU clock)
    pool_cpu_ms: float = 0.0
    #: when it started, in ms after the request started
    start_ms: float = 0.0
    #: scores that were NaN or infinite after this stage (sunk below every finite score)
    non_finite_scores: int = 0


@dataclass
class RequestTrace:
    pipeline: str
    request_id: str
    stages: list[StageTrace] = field(default_factory=list)
    wall_ms: float = 0.0
    cpu_ms: float = 0.0
    #: wall-clock start of the run (unix ns): the offsets above are relative to it, so a tracer can
    #: turn the finished trace into spans with real timestamps after the response is built
    start_unix_ns: int = 0

    def components(self) -> list[ComponentTrace]:
        return [c for s in self.stages for c in s.components]

    def failed_components(self) -> list[str]:
        return [c.component for c in self.components() if c.failed]

    def coverage(self) -> float:
        """Share of the components that ran (not disabled or gated) and succeeded."""
        attempted = [c for c in self.components() if c.status not in ("disabled", "gated")]
        if not attempted:
            return 1.0
        return sum(1 for c in attempted if c.status == "ok") / len(attempted)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

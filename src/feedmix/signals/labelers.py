"""The factory: tier names to labellers, so callers choose a tier by name (config, ``--tier``) and no module
imports a tier it does not use. The production tier is the one the streaming path and ``label`` use by
default."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from feedmix.signals.labeler import Labeler

PRODUCTION_TIER = "student"


def _rules(root: Path | None) -> Labeler:
    from feedmix.signals.rules_labeler import RulesLabeler

    return RulesLabeler()


def _judge(root: Path | None) -> Labeler:
    from feedmix.signals.judge_labeler import JudgeLabeler
    from feedmix.signals.judges.recorded_judge import RecordedJudge

    return JudgeLabeler(RecordedJudge())


def _teacher(root: Path | None) -> Labeler:
    from feedmix.signals.signal_models import load_model

    return load_model("teacher", root=root)


def _student(root: Path | None) -> Labeler:
    from feedmix.signals.signal_models import load_model

    return load_model("student", root=root)


#: tier name -> constructor; ``judge`` replays the recorded LLM judgements (a live endpoint is configured
#: with ``feedmix signals judge --url``)
TIERS: dict[str, Callable[[Path | None], Labeler]] = {
    "rules": _rules,
    "teacher": _teacher,
    "student": _student,
    "judge": _judge,
}


def make_labeler(tier: str | None = None, state_dir: Path | None = None) -> Labeler:
    """``state_dir``: where trained models are looked for (default ``$FEEDMIX_STATE_DIR`` or ``var``;
    the models packaged with the code when it has none)."""
    name = tier or PRODUCTION_TIER
    try:
        return TIERS[name](state_dir)
    except KeyError:
        raise ValueError(f"tier {name!r} is not one of {sorted(TIERS)}") from None

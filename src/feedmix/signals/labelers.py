"""The factory: tier names to labellers, so callers choose a tier by name (config, ``--tier``) and no module
imports a tier it does not use. The production tier is the one the streaming path and ``label`` use by
default."""

from __future__ import annotations

from collections.abc import Callable

from feedmix.signals.labeler import Labeler

PRODUCTION_TIER = "student"


def _rules() -> Labeler:
    from feedmix.signals.rules_labeler import RulesLabeler

    return RulesLabeler()


def _judge() -> Labeler:
    from feedmix.signals.judge_labeler import JudgeLabeler
    from feedmix.signals.judges.recorded_judge import RecordedJudge

    return JudgeLabeler(RecordedJudge())


def _teacher() -> Labeler:
    from feedmix.signals.signal_models import load_model

    return load_model("teacher")


def _student() -> Labeler:
    from feedmix.signals.signal_models import load_model

    return load_model("student")


#: tier name -> constructor; ``judge`` replays the recorded LLM judgements (a live endpoint is configured
#: with ``feedmix signals judge --url``)
TIERS: dict[str, Callable[[], Labeler]] = {
    "rules": _rules,
    "teacher": _teacher,
    "student": _student,
    "judge": _judge,
}


def make_labeler(tier: str | None = None) -> Labeler:
    name = tier or PRODUCTION_TIER
    try:
        return TIERS[name]()
    except KeyError:
        raise ValueError(f"tier {name!r} is not one of {sorted(TIERS)}") from None

"""Several judges asked the same question: the panel's answer per field is the majority (ties go to the
first judge that answered, so order the panel by trust), and the share of judges agreeing with it is kept
as the panel's confidence. A judge that failed on a post simply does not vote."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from feedmix.signals.judges.judge import Judge, Judgement
from feedmix.signals.judges.prompt import Prompt
from feedmix.signals.posts import Posts

_FIELDS = ("intent", "sentiment", "commercial", "category", "brand_safety", "brand_safety_reason", "stance")


class PanelJudge:
    def __init__(self, judges: Sequence[Judge]) -> None:
        if not judges:
            raise ValueError("a panel needs at least one judge")
        self.judges = list(judges)
        self.name = "panel:" + "+".join(j.name for j in judges)
        self.agreement: list[float] = []

    def judge(self, posts: Posts, prompt: Prompt) -> list[Judgement]:
        answers = [j.judge(posts, prompt) for j in self.judges]
        out: list[Judgement] = []
        self.agreement = []
        for i, pid in enumerate(posts.ids):
            votes = [a[i].label for a in answers if a[i].ok]
            cost = sum(a[i].cost_usd for a in answers)
            latency = max((a[i].latency_s for a in answers), default=0.0)
            if not votes:
                errors = "; ".join(f"{a[i].judge}: {a[i].error}" for a in answers)
                out.append(Judgement(pid, self.name, prompt.digest, None, errors, latency, cost))
                self.agreement.append(0.0)
                continue
            label, share = _majority([v for v in votes if v is not None])
            out.append(Judgement(pid, self.name, prompt.digest, label, None, latency, cost))
            self.agreement.append(share)
        return out


def _majority(votes: list[dict[str, Any]]) -> tuple[dict[str, Any], float]:
    """The voted label: intent by majority first, then the rest taken from the first voter who agrees
    on it (so the label stays consistent: category null iff not commercial, stance iff products)."""
    intent, _ = Counter(v["intent"] for v in votes).most_common(1)[0]
    base = next(v for v in votes if v["intent"] == intent)
    label = dict(base)
    for field in ("commercial", "brand_safety"):
        top, _ = Counter(json_key(v[field]) for v in votes).most_common(1)[0]
        if json_key(label[field]) != top:
            donor = next(v for v in votes if json_key(v[field]) == top)
            if field == "commercial":
                label["commercial"], label["category"] = donor["commercial"], donor["category"]
            else:
                label["brand_safety"], label["brand_safety_reason"] = (
                    donor["brand_safety"],
                    donor["brand_safety_reason"],
                )
    agree = sum(all(v[f] == label[f] for f in _FIELDS[:3]) for v in votes) / len(votes)
    return label, agree if votes else 0.0


def json_key(value: Any) -> str:
    return repr(value)

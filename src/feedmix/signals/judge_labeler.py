"""An LLM judge as a labelling tier: its answers become signals like any model's, so the judge is scored
by the same ``feedmix signals eval`` table as the rules, the teacher and the student, and can label posts
when a tier asks for it. An LLM answers with labels, not probabilities: the chosen class gets 0.9 when it
said high confidence and 0.6 when low, the rest shares the remainder. A post the judge could not answer
(not recorded, timed out, malformed) gets the abstention and the gate status ``error``."""

from __future__ import annotations

from feedmix.signals.codebook import BRAND_SAFETY, CATEGORIES, INTENTS, SENTIMENTS
from feedmix.signals.judges.judge import Judge, Judgement
from feedmix.signals.judges.prompt import Prompt, load_prompt
from feedmix.signals.post_signals import F32, PostSignals, ProductMentions, abstention, assemble
from feedmix.signals.posts import Posts

_SURE = {"high": 0.9, "low": 0.6}


class JudgeLabeler:
    name = "judge"
    tier = 3

    def __init__(self, judge: Judge, prompt: Prompt | None = None) -> None:
        self.judge = judge
        self.prompt = prompt or load_prompt()
        self.last_judgements: list[Judgement] = []

    @property
    def version(self) -> str:
        return f"{self.judge.name}@{self.prompt.name}.{self.prompt.digest}"

    def label(self, posts: Posts) -> PostSignals:
        n = len(posts)
        probs = abstention(n)
        judgements = self.judge.judge(posts, self.prompt) if n else []
        self.last_judgements = judgements
        reasons: list[str | None] = [None] * n
        gate = ["ok"] * n
        products = ProductMentions(n)
        for i, j in enumerate(judgements):
            if j.label is None:
                gate[i] = "error"
                products.add(i, ())
                continue
            lab = j.label
            sure = _SURE[lab["confidence"]]
            _one_hot(probs["intent_probs"][i], INTENTS.index(lab["intent"]), sure)
            _one_hot(probs["sentiment_probs"][i], SENTIMENTS.index(lab["sentiment"]), sure)
            _one_hot(probs["safety_probs"][i], BRAND_SAFETY.index(lab["brand_safety"]), sure)
            probs["commercial_prob"][i] = sure if lab["commercial"] else 1 - sure
            if lab["category"] is not None:
                _one_hot(probs["category_probs"][i], CATEGORIES.index(lab["category"]), sure)
            reasons[i] = lab["brand_safety_reason"]
            text = posts.text(i)
            spans = ((text.find(name), name) for name in lab["products"])
            products.add(i, ((at, at + len(name), name, None) for at, name in spans if at >= 0))
        return assemble(posts.ids, probs, reasons, gate, self.version, products)


def _one_hot(row: F32, k: int, sure: float) -> None:
    row[:] = (1 - sure) / (len(row) - 1)
    row[k] = sure

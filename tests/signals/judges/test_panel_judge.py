from feedmix.signals.judges.judge import Judgement
from feedmix.signals.judges.panel_judge import PanelJudge
from feedmix.signals.judges.prompt import Prompt, load_prompt
from feedmix.signals.posts import Posts

BASE = {
    "id": "p",
    "intent": "question",
    "sentiment": "neutral",
    "commercial": False,
    "products": [],
    "category": None,
    "stance": None,
    "brand_safety": "safe",
    "brand_safety_reason": None,
    "confidence": "high",
}


class Fixed:
    def __init__(self, name: str, label: dict | None) -> None:
        self.name = name
        self.label = label

    def judge(self, posts: Posts, prompt: Prompt) -> list[Judgement]:
        return [
            Judgement(
                pid, self.name, prompt.digest, self.label, None if self.label else "timeout", cost_usd=0.01
            )
            for pid in posts.ids
        ]


def test_the_majority_wins_and_agreement_is_kept() -> None:
    posts = Posts.from_records([{"id": "p", "title": "Is this a good deal?"}])
    review = dict(BASE, intent="review", commercial=True, category="Electronics")
    panel = PanelJudge([Fixed("a", review), Fixed("b", BASE), Fixed("c", BASE)])
    out = panel.judge(posts, load_prompt())
    assert out[0].label["intent"] == "question" and out[0].label["category"] is None
    assert abs(panel.agreement[0] - 2 / 3) < 1e-9
    assert abs(out[0].cost_usd - 0.03) < 1e-12


def test_a_failed_judge_does_not_vote_and_all_failing_is_an_error() -> None:
    posts = Posts.from_records([{"id": "p", "title": "t"}])
    out = PanelJudge([Fixed("a", None), Fixed("b", BASE)]).judge(posts, load_prompt())
    assert out[0].label == BASE
    out = PanelJudge([Fixed("a", None), Fixed("b", None)]).judge(posts, load_prompt())
    assert out[0].label is None and "timeout" in (out[0].error or "")

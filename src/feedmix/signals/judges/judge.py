"""What a judge is: given posts and a prompt, one judgement per post, each either a schema-valid label or
an error saying why not (timed out, refused, malformed, not recorded), never an exception for one bad
post, so a batch always finishes and the failures are counted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from feedmix.signals.judges.prompt import Prompt
from feedmix.signals.posts import Posts


@dataclass(frozen=True)
class Judgement:
    post_id: str
    judge: str
    prompt_digest: str
    label: dict[str, Any] | None
    error: str | None = None
    latency_s: float = 0.0
    cost_usd: float = 0.0
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.label is not None


class Judge(Protocol):
    name: str

    def judge(self, posts: Posts, prompt: Prompt) -> list[Judgement]: ...


def post_message(posts: Posts, i: int) -> str:
    """The user message for one post: the fields a labeller reads, as JSON."""
    import json

    return json.dumps(
        {
            "id": posts.ids[i],
            "subreddit": posts.subreddit[i],
            "title": posts.title[i],
            "selftext": posts.selftext[i],
            "over_18": bool(posts.over_18[i]),
        },
        ensure_ascii=False,
    )

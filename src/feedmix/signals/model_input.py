"""What the trained tiers read of a post: the community, then the title, then the opening of the selftext,
markup reduced to words. Both tiers read the same string, so the student learns from the teacher exactly
what the teacher saw."""

from __future__ import annotations

from feedmix.signals import gate
from feedmix.signals.posts import Posts

#: selftext beyond this is rarely needed to tell intent or category, and costs every tier time
SELFTEXT_CHARS = 600


def model_texts(posts: Posts) -> list[str]:
    out = []
    for i in range(len(posts)):
        title, body = gate.clean(posts.title[i]), gate.clean(posts.selftext[i][:SELFTEXT_CHARS])
        out.append(f"r/{posts.subreddit[i]} | {title} | {body}")
    return out

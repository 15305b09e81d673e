"""What every labelling tier is: a named, versioned function from a batch of posts to their signals.

Tiers: 0 rules and lexicons, 1 the teacher, 2 the student distilled from the teacher. The version goes
into every value a labeller writes, so a stored value always says which model produced it.
"""

from __future__ import annotations

from typing import Protocol

from feedmix.signals.post_signals import PostSignals
from feedmix.signals.posts import Posts


class Labeler(Protocol):
    name: str
    tier: int

    @property
    def version(self) -> str: ...

    def label(self, posts: Posts) -> PostSignals: ...

"""What the product components are built from: data and stores, wired once per process."""

from __future__ import annotations

from dataclasses import dataclass

from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.exploration_source import EngagementCounts
from feedmix.stores.seen_store import SeenStore
from feedmix.stores.session_store import FeedSessionStore
from feedmix.users.directory import UserDirectory


@dataclass
class FeedDeps:
    corpus: RedditCorpus
    graph: CommunityGraph
    users: UserDirectory
    seen: SeenStore
    sessions: FeedSessionStore
    engagement: EngagementCounts | None = None

"""Fixtures for the simulator tests: the real demo corpus and its community graph, once per module."""

from __future__ import annotations

import pytest

from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus


@pytest.fixture(scope="module")
def corpus() -> RedditCorpus:
    return RedditCorpus.load()


@pytest.fixture(scope="module")
def graph(corpus: RedditCorpus) -> CommunityGraph:
    return CommunityGraph.from_corpus(corpus)

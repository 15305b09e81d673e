"""The viewer's own filters: muted communities never show; the NSFW setting overrides the profile."""

from __future__ import annotations

import numpy as np
import pytest

from feedmix.components.filters.muted_communities_filter import MutedCommunitiesFilter
from feedmix.components.filters.nsfw_filter import NsfwFilter
from feedmix.core.params import ParamError
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.testing import make_batch, make_query


@pytest.fixture(scope="module")
def corpus() -> RedditCorpus:
    return RedditCorpus.load()


def test_muted_communities_are_removed_and_unknown_names_ignored(corpus: RedditCorpus) -> None:
    f = MutedCommunitiesFilter("muted_communities", corpus)
    a, b = corpus.community_id("buildapc"), corpus.community_id("funny")
    assert a is not None and b is not None
    batch = make_batch({"community": np.array([a, b, a, 7])})
    q = make_query(f, params={"muted_communities.communities": " buildapc, no_such_place ,"})
    assert f.keep(q, batch).tolist() == [False, True, False, a != 7]
    # nothing muted: everything stays
    assert f.keep(make_query(f), batch).all()


def test_the_viewer_nsfw_choice_overrides_the_profile() -> None:
    f = NsfwFilter("nsfw_filter")
    batch = make_batch({"over_18": np.array([True, False])})

    def kept(choice: str, profile: bool) -> list[bool]:
        q = make_query(f, params={"nsfw_filter.viewer_choice": choice}, features={"user.allow_nsfw": profile})
        return list(f.keep(q, batch).tolist())

    assert kept("profile", False) == [False, True] and kept("profile", True) == [True, True]
    assert kept("show", False) == [True, True] and kept("hide", True) == [False, True]
    with pytest.raises(ParamError, match="viewer_choice"):
        make_query(f, params={"nsfw_filter.viewer_choice": "maybe"})

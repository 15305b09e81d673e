"""The embedding sources in the home feed: similar posts, exclusions, cold users, recent clicks."""

from __future__ import annotations

import time
import uuid
from typing import Any

import numpy as np

from feedmix.components.query_hydrators.user_embedding_hydrator import (
    COLLAB_FEATURE,
    CONTENT_FEATURE,
    UserEmbeddingHydrator,
)
from feedmix.components.sources.embedding_source import EmbeddingSource
from feedmix.core.query import Query
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.events.schema import Event, EventBatch
from feedmix.retrieval.content_index import ContentIndex
from feedmix.retrieval.query_vector import QueryVector
from feedmix.serving.runtime import Runtime

from .conftest import GROUP_COMMUNITIES, Built, group_user


def source(rt: Runtime, name: str) -> EmbeddingSource:
    return rt.pipelines["home"].component_of(name, EmbeddingSource)


def content_query(rt: Runtime, communities: list[str], **features: Any) -> Query:
    """A home query whose content vector is the centroid of ``communities``."""
    cur = rt.indexes.content.current() if rt.indexes else None
    assert cur is not None and isinstance(cur.index, ContentIndex)
    vec = cur.index.community_vector(communities)
    assert vec is not None
    q = rt.feeds.query("home", "test-user")
    return q.with_features({CONTENT_FEATURE: QueryVector(vec, cur.index, cur.version), **features})


def communities_of(corpus: RedditCorpus, ids: np.ndarray) -> list[str]:
    return [corpus.communities[int(c)] for c in corpus.community[corpus.rows_of(ids)]]


def trace_of(body: dict[str, Any], component: str) -> dict[str, Any]:
    for stage in body["trace"]["stages"]:
        for c in stage["components"]:
            if c["component"] == component:
                return dict(c)
    raise AssertionError(f"{component} not in the trace")


def test_content_source_returns_similar_posts_with_their_similarity(runtime: Runtime) -> None:
    src = source(runtime, "embedding_content")
    batch = src.fetch(content_query(runtime, ["aww"], **{"user.allow_nsfw": True}))
    assert len(batch) == 200  # the default k
    found = communities_of(runtime.corpus, batch.ids[:50])
    assert found.count("aww") >= 45
    sim = batch.column("embedding_content_similarity")
    assert sim.dtype == np.float32 and np.all(np.diff(sim) <= 1e-6) and 0 < sim[0] <= 1.0 + 1e-5
    np.testing.assert_array_equal(runtime.corpus.ids[batch.column("row")], batch.ids)


def test_seen_served_and_nsfw_posts_are_excluded_inside_the_search(runtime: Runtime) -> None:
    src, corpus = source(runtime, "embedding_content"), runtime.corpus
    share = np.bincount(corpus.community, weights=corpus.over_18) / np.maximum(corpus.post_counts(), 1)
    nsfw_community = corpus.communities[int(np.argmax(np.where(corpus.post_counts() >= 20, share, 0)))]
    opted_in = src.fetch(content_query(runtime, [nsfw_community], **{"user.allow_nsfw": True}))
    nsfw = corpus.over_18[opted_in.column("row")]
    assert nsfw[:20].mean() > 0.5  # the NSFW community's own posts come first for who opted in
    seen, served = opted_in.ids[:30], opted_in.ids[30:40]
    hidden = src.fetch(
        content_query(
            runtime,
            [nsfw_community],
            **{"user.allow_nsfw": False, "user.seen": seen, "session.served": served},
        )
    )
    assert len(hidden) == 200  # over-fetched past the exclusions: still k candidates
    assert not corpus.over_18[hidden.column("row")].any()
    assert not np.isin(hidden.ids, np.concatenate([seen, served])).any()
    still_ok = opted_in.ids[40:][~nsfw[40:]]
    assert np.isin(still_ok[:20], hidden.ids).all()  # the exclusions removed only what they name


def test_a_known_user_gets_both_kinds_of_embedding_candidates(runtime: Runtime, built: Built) -> None:
    # a population user: content vector from joined communities, no collab vector (not in the log)
    body = runtime.feeds.feed("home", "u0001", 25, debug=True)
    assert not body["degraded"]
    assert trace_of(body, "embedding_content")["candidates_out"] == 200
    collab = trace_of(body, "embedding_collab")
    assert (collab["status"], collab["candidates_out"]) == ("ok", 0)
    # a user of the event log: collab candidates from their group's posts
    user = group_user(1, 3)
    body = runtime.feeds.feed("home", user, 25, debug=True)
    collab = trace_of(body, "embedding_collab")
    assert collab["status"] == "ok" and collab["candidates_out"] > 0
    q = runtime.feeds.query("home", user)
    feats = runtime.pipelines["home"].component_of("user_embedding", UserEmbeddingHydrator).hydrate(q)
    batch = source(runtime, "embedding_collab").fetch(q.with_features(feats))
    assert np.isin(batch.ids[:20], built.group_posts[GROUP_COMMUNITIES[1]]).mean() >= 0.9
    assert np.all(np.diff(batch.column("embedding_collab_similarity")) <= 1e-5)


def test_a_cold_user_gets_no_embedding_candidates_and_no_error(runtime: Runtime) -> None:
    user = f"newcomer-{uuid.uuid4().hex[:8]}"
    feats = (
        runtime.pipelines["home"]
        .component_of("user_embedding", UserEmbeddingHydrator)
        .hydrate(runtime.feeds.query("home", user))
    )
    assert feats == {CONTENT_FEATURE: None, COLLAB_FEATURE: None}  # declared, and no vector for a newcomer
    body = runtime.feeds.feed("home", user, 25, debug=True)
    assert body["user"]["cold_start"] and not body["degraded"] and len(body["items"]) == 25
    for name in ("embedding_content", "embedding_collab"):
        t = trace_of(body, name)
        assert (t["status"], t["candidates_out"], t["error"]) == ("ok", 0, None)


def test_recent_clicks_give_a_newcomer_a_content_vector_toward_them(runtime: Runtime) -> None:
    corpus, user = runtime.corpus, f"clicker-{uuid.uuid4().hex[:8]}"
    cid = corpus.community_id("gaming")
    assert cid is not None
    clicked = corpus.community_rows(cid)[:5]
    events = [
        Event(event_id=uuid.uuid4().hex, type="click", user_id=user, post_id=corpus.id_str[r])
        for r in clicked
    ]
    runtime.ingestor.ingest(EventBatch(events=events), now=time.time())
    body = runtime.feeds.feed("home", user, 25, debug=True)
    assert trace_of(body, "embedding_content")["candidates_out"] == 200
    q = runtime.feeds.query("home", user)
    feats = runtime.pipelines["home"].component_of("user_embedding", UserEmbeddingHydrator).hydrate(q)
    batch = source(runtime, "embedding_content").fetch(q.with_features(feats))
    assert communities_of(corpus, batch.ids[:30]).count("gaming") >= 25

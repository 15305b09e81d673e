"""The HTTP driver against a fake feed server (``httpx.MockTransport``) serving real corpus ids."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter, defaultdict
from typing import Any

import httpx
import numpy as np
import pytest

from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.events.schema import EventBatch
from feedmix.simulation.behavior import BehaviorModel, Reactions
from feedmix.simulation.driver import SimulationReport, mean_ci95, simulate
from feedmix.simulation.population import Population

UNKNOWN_ID = "zzzzzzzz"  # base36, far above every 2013 id


class FakeFeed:
    """Pages of real post ids, an ad and an unknown id per page, cursors ``"1"``, ``"2"``...

    ``pages`` pages per user, then ``next_cursor`` is null. Records every feed request, what it
    served and every posted event; answers events like the real API (202, accepted/duplicates).
    """

    def __init__(self, corpus: RedditCorpus, pages: int = 3, nsfw_only: bool = False, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        pool = np.flatnonzero(corpus.over_18) if nsfw_only else np.arange(len(corpus))
        self.rows = rng.permutation(pool)
        self.corpus = corpus
        self.pages = pages
        self.requests: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.seen: set[str] = set()
        self.served_posts = 0
        self.served_ads = 0
        self.served_unknown = 0
        self.request_ids: dict[str, dict[str, Any]] = {}
        self.fail_feed_every = 0
        self.fail_events_every = 0
        self.raise_on_user: str | None = None
        self.event_posts = 0
        self.batch_sizes: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/v1/feed":
            return self.feed(request)
        if request.method == "POST" and request.url.path == "/v1/events":
            return self.ingest(request)
        return httpx.Response(404, json={"detail": "not found"})

    def feed(self, request: httpx.Request) -> httpx.Response:
        user = request.url.params["user_id"]
        limit = int(request.url.params["limit"])
        cursor = request.url.params.get("cursor")
        page = int(cursor) if cursor is not None else 0
        n = len(self.requests)
        self.requests.append({"user_id": user, "cursor": cursor, "limit": limit})
        if self.raise_on_user == user:
            raise httpx.ConnectError("connection refused", request=request)
        if self.fail_feed_every and n % self.fail_feed_every == self.fail_feed_every - 1:
            return httpx.Response(503, json={"detail": "overloaded"})
        offset = (hash(user) % 1000 + page * limit) % (len(self.rows) - limit)
        rows = self.rows[offset : offset + limit - 2]
        items: list[dict[str, Any]] = [{"id": self.corpus.id_str[r], "kind": "post"} for r in rows]
        items.insert(2, {"id": "ad-1", "kind": "ad"})
        items.append({"id": UNKNOWN_ID, "kind": "post"})
        for i, item in enumerate(items):
            item["position"] = page * limit + i
        self.served_posts += len(rows)
        self.served_ads += 1
        self.served_unknown += 1
        request_id = f"req-{n}"
        self.request_ids[request_id] = {"user_id": user, "page": page}
        next_cursor = str(page + 1) if page + 1 < self.pages else None
        return httpx.Response(
            200, json={"items": items, "next_cursor": next_cursor, "request_id": request_id}
        )

    def ingest(self, request: httpx.Request) -> httpx.Response:
        self.event_posts += 1
        if self.fail_events_every and self.event_posts % self.fail_events_every == 0:
            return httpx.Response(500, json={"detail": "boom"})
        body = json.loads(request.content)
        self.batch_sizes.append(len(body["events"]))
        EventBatch.model_validate(body)  # the real ingestion schema; raises (fails the test) if off
        events = body["events"]
        accepted = duplicates = 0
        for e in events:
            if e["event_id"] in self.seen:
                duplicates += 1
                continue
            self.seen.add(e["event_id"])
            self.events.append(e)
            accepted += 1
        return httpx.Response(202, json={"accepted": accepted, "duplicates": duplicates})


def _client(fake: FakeFeed) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(fake), base_url="http://test")


@pytest.fixture(scope="module")
def model(corpus: RedditCorpus) -> BehaviorModel:
    return BehaviorModel(corpus)


@pytest.fixture(scope="module")
def population(corpus: RedditCorpus, graph: CommunityGraph) -> Population:
    """Patient users (10 pages), so sessions end on the cursor or on hides, not on patience."""
    base = Population.generate(corpus, graph, n_users=50, seed=42)
    users = [dataclasses.replace(u, patience=10) for u in base.users]
    return Population(users=users, community_names=base.community_names, seed=base.seed)


def _session_pages(events: list[dict[str, Any]]) -> dict[int, dict[int, list[dict[str, Any]]]]:
    """Recorded events grouped by (session, page), parsed from the event ids."""
    grouped: dict[int, dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for e in events:
        _, session, page, _, _ = e["event_id"].split("-")
        grouped[int(session)][int(page)].append(e)
    return grouped


def _as_reactions(page_events: list[dict[str, Any]]) -> Reactions:
    shown = [e for e in page_events if e["type"] == "impression"]
    index = {e["post_id"]: i for i, e in enumerate(shown)}
    flags = {t: np.zeros(len(shown), dtype=bool) for t in ("click", "upvote", "downvote", "hide", "comment")}
    for e in page_events:
        if e["type"] != "impression":
            flags[e["type"]][index[e["post_id"]]] = True
    return Reactions(
        clicked=flags["click"],
        upvoted=flags["upvote"],
        downvoted=flags["downvote"],
        hidden=flags["hide"],
        commented=flags["comment"],
    )


def test_events_match_what_was_shown(
    corpus: RedditCorpus, population: Population, model: BehaviorModel
) -> None:
    fake = FakeFeed(corpus, pages=3)
    with _client(fake) as client:
        report = simulate(client, population, model, corpus, sessions=40, seed=1, progress=False)

    types = Counter(e["type"] for e in fake.events)
    # one impression per shown corpus post; ads and unknown ids get none
    assert report.impressions == types["impression"] == fake.served_posts
    assert report.ads_shown == fake.served_ads and report.unknown_posts == fake.served_unknown
    assert all(e["post_id"] not in (UNKNOWN_ID, "ad-1") for e in fake.events)
    # report counts match the recorded events
    assert (report.clicks, report.upvotes, report.downvotes, report.hides) == (
        types["click"], types["upvote"], types["downvote"], types["hide"],
    )  # fmt: skip
    assert report.events_sent == report.events_accepted == len(fake.events)
    assert report.events_duplicates == 0 and report.events_lost == 0 and report.errors == {}
    assert report.clicks > 0 and report.hides >= 0
    assert report.ctr == pytest.approx(report.clicks / report.impressions)
    # event ids are unique; every reaction follows an impression of the same post, same request
    assert len({e["event_id"] for e in fake.events}) == len(fake.events)
    impressions = {(e["request_id"], e["post_id"]) for e in fake.events if e["type"] == "impression"}
    assert all((e["request_id"], e["post_id"]) in impressions for e in fake.events)
    # events carry the feed response's request id, user, server position and the surface
    for e in fake.events:
        served = fake.request_ids[e["request_id"]]
        assert e["user_id"] == served["user_id"] and e["surface"] == "home"
        assert isinstance(e["position"], int) and e["position"] // 25 == served["page"]
        assert "ts" not in e


def test_paging_stops_at_null_cursor_or_hides(
    corpus: RedditCorpus, population: Population, model: BehaviorModel
) -> None:
    fake = FakeFeed(corpus, pages=3)
    with _client(fake) as client:
        report = simulate(client, population, model, corpus, sessions=40, seed=2, progress=False)
    firsts = [r for r in fake.requests if r["cursor"] is None]
    assert len(firsts) == report.sessions == 40
    assert all(r["cursor"] in (None, "1", "2") for r in fake.requests)  # never past the null cursor
    assert report.feed_requests == len(fake.requests) == report.pages
    assert sum(report.session_ends.values()) == 40
    assert set(report.session_ends) <= {"end_of_feed", "hides"}
    assert report.session_ends.get("end_of_feed", 0) > 0
    # a session only goes on past a page that did not trigger the leave rule
    for pages in _session_pages(fake.events).values():
        ordered = sorted(pages)
        assert ordered == list(range(len(ordered)))
        for p in ordered[:-1]:
            assert not model.leaves_after(_as_reactions(pages[p]))
    # each session requested exactly the pages that have events (every page holds corpus posts)
    assert sum(len(p) for p in _session_pages(fake.events).values()) == len(fake.requests)


def test_patience_limits_pages(corpus: RedditCorpus, population: Population, model: BehaviorModel) -> None:
    impatient = Population(
        users=[dataclasses.replace(u, patience=1) for u in population.users],
        community_names=population.community_names,
    )
    fake = FakeFeed(corpus, pages=5)
    with _client(fake) as client:
        report = simulate(client, impatient, model, corpus, sessions=20, seed=3, progress=False)
    assert len(fake.requests) == 20 and all(r["cursor"] is None for r in fake.requests)
    assert report.session_ends.get("patience", 0) + report.session_ends.get("hides", 0) == 20


def test_hide_heavy_pages_end_sessions(
    corpus: RedditCorpus, population: Population, model: BehaviorModel
) -> None:
    prudes = Population(
        users=[dataclasses.replace(u, allow_nsfw=False) for u in population.users],
        community_names=population.community_names,
    )
    fake = FakeFeed(corpus, pages=5, nsfw_only=True)
    with _client(fake) as client:
        report = simulate(client, prudes, model, corpus, sessions=20, seed=4, progress=False)
    # ~6 of 23 NSFW posts get hidden per page against a leave threshold of 5: most sessions end
    # after one page, and none reaches the end of the 5-page feed
    assert report.session_ends.get("hides", 0) >= 17 and "end_of_feed" not in report.session_ends
    assert len(fake.requests) < 30
    assert report.hides > 5 * report.clicks


def test_same_seed_replays_and_dedupes_other_seed_does_not_collide(
    corpus: RedditCorpus, population: Population, model: BehaviorModel
) -> None:
    fake = FakeFeed(corpus)
    with _client(fake) as client:
        first = simulate(client, population, model, corpus, sessions=15, seed=5, progress=False)
        n_first = len(fake.events)
        replay = simulate(client, population, model, corpus, sessions=15, seed=5, progress=False)
        assert replay.events_accepted == 0 and replay.events_duplicates == first.events_sent
        assert len(fake.events) == n_first
        other = simulate(client, population, model, corpus, sessions=15, seed=6, progress=False)
    assert other.events_duplicates == 0 and other.events_accepted == other.events_sent
    assert len(fake.events) == n_first + other.events_sent
    # the replay saw the same pages and made the same choices
    assert first.as_dict() | {"elapsed_s": 0, "events_accepted": 0, "events_duplicates": 0} == (
        replay.as_dict() | {"elapsed_s": 0, "events_accepted": 0, "events_duplicates": 0}
    )


def test_users_are_picked_by_activity(
    corpus: RedditCorpus, population: Population, model: BehaviorModel
) -> None:
    users = [dataclasses.replace(u, activity=0.01) for u in population.users]
    users[7] = dataclasses.replace(users[7], activity=100.0)
    skewed = Population(users=users, community_names=population.community_names)
    fake = FakeFeed(corpus, pages=1)
    with _client(fake) as client:
        simulate(client, skewed, model, corpus, sessions=100, seed=7, progress=False)
    by_user = Counter(r["user_id"] for r in fake.requests)
    assert by_user[users[7].user_id] > 90


def test_http_errors_are_counted_not_raised(
    corpus: RedditCorpus, population: Population, model: BehaviorModel
) -> None:
    fake = FakeFeed(corpus, pages=3)
    fake.fail_feed_every = 4
    fake.fail_events_every = 5
    fake.raise_on_user = population.users[int(np.argmax(population.activity))].user_id
    with _client(fake) as client:
        report = simulate(client, population, model, corpus, sessions=60, seed=8, progress=False)
    assert report.sessions == 60
    assert report.errors.get("feed_http_503", 0) > 0
    assert report.errors.get("events_http_500", 0) > 0
    assert report.errors.get("feed_transport_ConnectError", 0) > 0
    assert (
        report.session_ends["error"]
        == report.errors["feed_http_503"] + report.errors["feed_transport_ConnectError"]
    )
    assert report.events_lost > 0
    assert report.events_sent == report.events_accepted + report.events_lost
    assert report.feed_requests == len(fake.requests)
    json.dumps(report.as_dict())


def test_bad_json_and_missing_server(
    corpus: RedditCorpus, population: Population, model: BehaviorModel
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/feed":
            return httpx.Response(200, content=b"<html>not json</html>")
        return httpx.Response(202, json={"accepted": 0, "duplicates": 0})

    with httpx.Client(transport=httpx.MockTransport(handler), base_url="http://test") as client:
        report = simulate(client, population, model, corpus, sessions=5, seed=9, progress=False)
    assert report.errors == {"feed_bad_json": 5} and report.impressions == 0
    assert report.session_ends == {"error": 5}
    assert report.engagement_per_session_mean == 0.0


def test_report_is_json_and_has_an_interval(
    corpus: RedditCorpus, population: Population, model: BehaviorModel
) -> None:
    fake = FakeFeed(corpus)
    with _client(fake) as client:
        report = simulate(client, population, model, corpus, sessions=30, seed=10, progress=True)
    d = json.loads(json.dumps(report.as_dict()))
    lo, hi = d["engagement_per_session_ci95"]
    assert lo <= d["engagement_per_session_mean"] <= hi
    assert d["sessions"] == 30 and d["elapsed_s"] >= 0
    assert 0 < d["ctr"] < 1
    assert d["expected_engagement_per_impression"] != 0


def test_mean_ci95() -> None:
    assert mean_ci95(np.array([])) == (0.0, None)
    assert mean_ci95(np.array([2.0])) == (2.0, None)
    mean, ci = mean_ci95(np.array([1.0, 2.0, 3.0, 4.0]))
    assert mean == 2.5 and ci is not None
    assert ci[0] == pytest.approx(2.5 - 1.959964 * np.std([1, 2, 3, 4], ddof=1) / 2)
    assert SimulationReport().as_dict()["engagement_per_session_ci95"] is None


@pytest.mark.filterwarnings("ignore:Using .httpx. with .starlette.testclient.")
def test_works_with_fastapi_testclient(
    corpus: RedditCorpus, population: Population, model: BehaviorModel
) -> None:
    """``TestClient`` is an ``httpx.Client``: the driver runs against an in-process ASGI app."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()
    received: list[dict[str, Any]] = []
    ids = corpus.id_str[:10]

    @app.get("/v1/feed")
    def feed(user_id: str, limit: int = 25, cursor: str | None = None) -> dict[str, Any]:
        return {
            "items": [{"id": i, "kind": "post", "position": n} for n, i in enumerate(ids[:limit])],
            "next_cursor": None,
            "request_id": f"r-{user_id}",
        }

    @app.post("/v1/events", status_code=202)
    def events(body: dict[str, Any]) -> dict[str, int]:
        received.extend(body["events"])
        return {"accepted": len(body["events"]), "duplicates": 0}

    with TestClient(app) as client:
        report = simulate(client, population, model, corpus, sessions=4, seed=11, limit=10, progress=False)
    assert report.errors == {} and report.impressions == 40
    assert report.events_accepted == len(received)


def test_personalised_feed_beats_random_feed(
    corpus: RedditCorpus, graph: CommunityGraph, population: Population, model: BehaviorModel
) -> None:
    """The closed loop discriminates rankers: a server that knows the users (it rebuilt the same
    population from the seed, without the graph) and serves the best posts of their joined
    communities earns far more than one serving random posts."""
    server_view = Population.generate(corpus, None, n_users=len(population), seed=population.seed)

    def personal(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/events":
            n = len(json.loads(request.content)["events"])
            return httpx.Response(202, json={"accepted": n, "duplicates": 0})
        user = server_view.get(request.url.params["user_id"])
        assert user is not None
        page = int(request.url.params.get("cursor") or 0)
        best = np.concatenate([corpus.community_rows(int(c))[:20] for c in user.communities])
        best = best[np.argsort(-model.quality[best], kind="stable")]
        if not user.allow_nsfw:
            best = best[~corpus.over_18[best]]
        rows = best[page * 25 : (page + 1) * 25]
        items = [
            {"id": corpus.id_str[r], "kind": "post", "position": page * 25 + i} for i, r in enumerate(rows)
        ]
        return httpx.Response(200, json={"items": items, "next_cursor": str(page + 1) if page < 2 else None})

    with httpx.Client(transport=httpx.MockTransport(personal), base_url="http://test") as client:
        good = simulate(client, population, model, corpus, sessions=40, seed=12, progress=False)
    with _client(FakeFeed(corpus, pages=3)) as client:
        random = simulate(client, population, model, corpus, sessions=40, seed=12, progress=False)
    assert good.expected_engagement_per_impression > 5 * random.expected_engagement_per_impression
    assert good.ctr > 3 * random.ctr
    ci = good.engagement_per_session_ci95
    assert ci is not None and ci[0] > random.engagement_per_session_mean


def test_large_pages_are_split_at_the_batch_limit(
    corpus: RedditCorpus, population: Population, model: BehaviorModel
) -> None:
    fake = FakeFeed(corpus, pages=1)
    with _client(fake) as client:
        report = simulate(client, population, model, corpus, sessions=2, seed=13, limit=1200, progress=False)
    assert report.impressions == 2 * 1198
    assert max(fake.batch_sizes) == 1000 and len(fake.batch_sizes) >= 4
    assert report.events_accepted == len(fake.events) == sum(fake.batch_sizes)


def test_run_id_prefixes_event_ids(
    corpus: RedditCorpus, population: Population, model: BehaviorModel
) -> None:
    fake = FakeFeed(corpus, pages=1)
    with _client(fake) as client:
        simulate(client, population, model, corpus, sessions=2, seed=1, run_id="exp.a:2", progress=False)
        with pytest.raises(ValueError):
            simulate(
                client, population, model, corpus, sessions=2, seed=1, run_id="no spaces", progress=False
            )
        with pytest.raises(ValueError):
            simulate(client, population, model, corpus, sessions=2, seed=1, run_id="x" * 25, progress=False)
    assert fake.events and all(e["event_id"].startswith("exp.a:2-") for e in fake.events)

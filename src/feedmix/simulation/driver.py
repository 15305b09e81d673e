"""Drive simulated users against the feed API over HTTP, the way real clients do.

The simulator deliberately has no side door into the server: it reads ``GET /v1/feed`` and
writes ``POST /v1/events`` exactly as an app would, so a simulation exercises (and measures) the
real serving, ingestion and learning path. ``client`` is any ``httpx.Client`` with a base URL --
a real server, a ``fastapi.testclient.TestClient`` or an ``httpx.MockTransport`` fake.

Session loop (``simulate``):

1. All session users are drawn up front from one ``default_rng(seed)``, with probability
   proportional to ``activity`` (sessions per day), so heavy users get proportionally more
   sessions; the same RNG then samples every reaction. Against a deterministic server the whole
   run is reproducible from ``seed``.
2. For up to ``user.patience`` pages: ``GET /v1/feed?user_id=U&limit=N[&cursor=C]``. Only
   ``kind == "post"`` items whose base36 id is in the corpus are reacted to; ads and unknown ids
   still take up screen space, so the display position that drives the examination probability
   is the item's index in the page, ads included. It restarts on every page: loading another
   page is a deliberate act, and how deep a session goes is already modelled by ``patience``
   and the leave rule, so decaying attention across pages as well would count attrition twice.
3. One ``POST /v1/events`` per page: an impression per reacted-to post, then its click, vote
   and hide events. ``position`` is the item's own ``position`` from the feed response when it
   is an int (so logs join with the server's), else its index in the page. ``ts`` is omitted;
   the server stamps it.
4. The session ends when ``next_cursor`` is null (``end_of_feed``), a page has no items
   (``empty_page``), the user hid enough of a page to leave (``BehaviorModel.leaves_after``:
   ``hides``), the pages reach ``patience`` (``patience``), or the feed call fails (``error``).

Event ids are ``{prefix}-{session}-{page}-{index}-{type}`` with ``prefix = f"sim{seed}"`` by
default: unique inside a run, different across seeds, and identical when the same seed is
replayed -- so a retried or repeated run is deduplicated by the server instead of counted twice.
Pass another ``run_id`` (1-24 of ``[A-Za-z0-9_.:-]``, so ids stay valid API tokens of at most
64 characters) to count a same-seed run again. A page's events go in one POST, split at
``EVENTS_MAX_BATCH``.

HTTP failures are counted in ``errors`` by kind (``feed_http_503``, ``feed_transport_ConnectError``,
``feed_bad_json``, ``events_http_422``, ``events_transport_ReadTimeout``...) instead of raised. The report's
behaviour counts (impressions, clicks...) are what the simulated users did; events that did not
reach the server are also counted in ``events_lost``.

Engagement per session is clicks + upvotes - hides (sessions whose first feed call failed count
as 0); its 95% interval is the normal approximation ``mean +- 1.96 * sd / sqrt(n)``.
``expected_engagement_per_impression`` averages ``BehaviorModel.expected_engagement`` over every
impression: the same quantity without sampling noise, the better metric to compare rankers.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
import numpy as np
from tqdm import tqdm

from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.simulation.behavior import BehaviorModel, Reactions
from feedmix.simulation.population import Population, UserProfile

FEED_PATH = "/v1/feed"
EVENTS_PATH = "/v1/events"
SURFACE = "home"
#: where each surface's feed is read (``simulate(surface=...)``)
FEED_PATHS = {"home": FEED_PATH, "discovery": "/v1/discovery/feed"}
#: most events the ingestion API takes in one request (``feedmix.events.schema.MAX_BATCH``)
EVENTS_MAX_BATCH = 1000
#: event ids must be 1-64 of ``[A-Za-z0-9_.:-]``; a prefix this short leaves room for the rest
_RUN_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,24}$")
#: z of a two-sided 95% normal interval
_Z95 = 1.959963984540054


@dataclass
class SimulationReport:
    """What a simulation did and saw; ``as_dict`` is JSON-serialisable."""

    sessions: int = 0
    feed_requests: int = 0
    #: feed responses that came back 200 with a readable body
    pages: int = 0
    impressions: int = 0
    clicks: int = 0
    upvotes: int = 0
    downvotes: int = 0
    hides: int = 0
    comments: int = 0
    ads_shown: int = 0
    #: post items whose id was not a corpus post (not reacted to, no events)
    unknown_posts: int = 0
    events_sent: int = 0
    events_accepted: int = 0
    events_duplicates: int = 0
    #: events in batches the server did not accept (HTTP error or transport failure)
    events_lost: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    #: why sessions ended: end_of_feed, empty_page, hides, patience, error
    session_ends: dict[str, int] = field(default_factory=dict)
    ctr: float = 0.0
    engagement_per_session_mean: float = 0.0
    #: 95% normal-approximation interval of the mean; ``None`` with fewer than two sessions
    engagement_per_session_ci95: tuple[float, float] | None = None
    expected_engagement_per_impression: float = 0.0
    elapsed_s: float = 0.0
    #: engagement of each session in order (for paired comparisons); not in ``as_dict``
    per_session: list[float] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("per_session")
        ci = self.engagement_per_session_ci95
        d["engagement_per_session_ci95"] = None if ci is None else [ci[0], ci[1]]
        return d


def mean_ci95(values: np.ndarray[Any, Any]) -> tuple[float, tuple[float, float] | None]:
    """Mean and normal-approximation 95% interval (``None`` below two values)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return 0.0, None
    mean = float(v.mean())
    if v.size < 2:
        return mean, None
    half = _Z95 * float(v.std(ddof=1)) / math.sqrt(v.size)
    return mean, (mean - half, mean + half)


def _parse_id(raw: Any) -> int:
    """Base36 post id to int, -1 when it is not one."""
    if not isinstance(raw, str) or not raw:
        return -1
    try:
        return int(raw, 36)
    except ValueError:
        return -1


class _Run:
    """Mutable state of one ``simulate`` call; keeps the per-session loop readable."""

    def __init__(
        self,
        client: httpx.Client,
        behavior: BehaviorModel,
        corpus: RedditCorpus,
        rng: np.random.Generator,
        limit: int,
        prefix: str,
        surface: str = SURFACE,
    ) -> None:
        self.client = client
        self.surface = surface
        self.feed_path = FEED_PATHS[surface]
        self.behavior = behavior
        self.corpus = corpus
        self.rng = rng
        self.limit = limit
        self.prefix = prefix
        self.report = SimulationReport()
        self.errors: Counter[str] = Counter()
        self.ends: Counter[str] = Counter()
        self.expected_sum = 0.0

    def fetch(self, user_id: str, cursor: str | None) -> dict[str, Any] | None:
        params: dict[str, str | int] = {"user_id": user_id, "limit": self.limit}
        if cursor is not None:
            params["cursor"] = cursor
        self.report.feed_requests += 1
        try:
            resp = self.client.get(self.feed_path, params=params)
        except httpx.HTTPError as exc:
            self.errors[f"feed_transport_{type(exc).__name__}"] += 1
            return None
        if resp.status_code != 200:
            self.errors[f"feed_http_{resp.status_code}"] += 1
            return None
        try:
            body = resp.json()
        except ValueError:
            self.errors["feed_bad_json"] += 1
            return None
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            self.errors["feed_bad_json"] += 1
            return None
        self.report.pages += 1
        return body

    def post_events(self, events: list[dict[str, Any]]) -> None:
        """POST a page's events, split at the API's batch limit (a page of 100 posts can exceed it)."""
        for start in range(0, len(events), EVENTS_MAX_BATCH):
            self._post_batch(events[start : start + EVENTS_MAX_BATCH])

    def _post_batch(self, events: list[dict[str, Any]]) -> None:
        self.report.events_sent += len(events)
        try:
            resp = self.client.post(EVENTS_PATH, json={"events": events})
        except httpx.HTTPError as exc:
            self.errors[f"events_transport_{type(exc).__name__}"] += 1
            self.report.events_lost += len(events)
            return
        if resp.status_code not in (200, 201, 202):
            self.errors[f"events_http_{resp.status_code}"] += 1
            self.report.events_lost += len(events)
            return
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            self.report.events_accepted += int(body.get("accepted", 0) or 0)
            self.report.events_duplicates += int(body.get("duplicates", 0) or 0)

    def session(self, index: int, user: UserProfile) -> float:
        """Run one session; returns its engagement (clicks + upvotes - hides)."""
        engagement = 0.0
        cursor: str | None = None
        end = "patience"
        for page in range(user.patience):
            body = self.fetch(user.user_id, cursor)
            if body is None:
                end = "error"
                break
            items: list[Any] = body["items"]
            if not items:
                end = "empty_page"
                break
            reactions = self.page(index, page, user, body, items)
            if reactions is not None:
                engagement += reactions.engagement()
            raw_cursor = body.get("next_cursor")
            cursor = raw_cursor if isinstance(raw_cursor, str) and raw_cursor else None
            if reactions is not None and self.behavior.leaves_after(reactions):
                end = "hides"
                break
            if cursor is None:
                end = "end_of_feed"
                break
        self.ends[end] += 1
        return engagement

    def page(
        self,
        session: int,
        page: int,
        user: UserProfile,
        body: dict[str, Any],
        items: list[Any],
    ) -> Reactions | None:
        """React to one page's posts and post its events; None when it held no corpus post."""
        index: list[int] = []
        ids: list[int] = []
        for j, item in enumerate(items):
            if not isinstance(item, dict):
                self.unknown(1)
                continue
            if item.get("kind", "post") != "post":
                self.report.ads_shown += 1
                continue
            index.append(j)
            ids.append(_parse_id(item.get("id")))
        rows = self.corpus.rows_of(np.asarray(ids, dtype=np.int64)) if ids else np.empty(0, np.int64)
        known = rows >= 0
        self.unknown(int((~known).sum()))
        if not known.any():
            return None
        rows = rows[known]
        slots = np.asarray(index, dtype=np.int64)[known]
        reactions = self.behavior.react(user, rows, slots, self.rng)
        self.expected_sum += float(self.behavior.expected_engagement(user, rows, slots).sum())

        r = self.report
        r.impressions += len(rows)
        r.clicks += int(reactions.clicked.sum())
        r.upvotes += int(reactions.upvoted.sum())
        r.downvotes += int(reactions.downvoted.sum())
        r.hides += int(reactions.hidden.sum())
        r.comments += int(reactions.commented.sum())

        request_id = body.get("request_id")
        flags = (
            ("click", reactions.clicked.tolist()),
            ("upvote", reactions.upvoted.tolist()),
            ("downvote", reactions.downvoted.tolist()),
            ("hide", reactions.hidden.tolist()),
            ("comment", reactions.commented.tolist()),
        )
        events: list[dict[str, Any]] = []
        for n, slot in enumerate(slots.tolist()):
            item = items[slot]
            server_pos = item.get("position")
            position = (
                server_pos if isinstance(server_pos, int) and not isinstance(server_pos, bool) else slot
            )
            base: dict[str, Any] = {
                "user_id": user.user_id,
                "post_id": item["id"],
                "position": position,
                "surface": self.surface,
            }
            if request_id is not None:
                base["request_id"] = request_id
            stem = f"{self.prefix}-{session}-{page}-{slot}"
            events.append({"event_id": f"{stem}-impression", "type": "impression", **base})
            for kind, hit in flags:
                if hit[n]:
                    events.append({"event_id": f"{stem}-{kind}", "type": kind, **base})
        self.post_events(events)
        return reactions

    def unknown(self, n: int) -> None:
        self.report.unknown_posts += n


def simulate(
    client: httpx.Client,
    population: Population,
    behavior: BehaviorModel,
    corpus: RedditCorpus,
    sessions: int,
    seed: int,
    limit: int = 25,
    progress: bool = True,
    run_id: str | None = None,
    surface: str = SURFACE,
) -> SimulationReport:
    """Run ``sessions`` simulated sessions against the feed API behind ``client``.

    See the module docstring for the session loop, the event id scheme and the report.
    """
    if sessions < 0:
        raise ValueError("sessions must be >= 0")
    if limit < 1:
        raise ValueError("limit must be >= 1")
    if sessions and len(population) == 0:
        raise ValueError("population is empty")
    prefix = run_id if run_id is not None else f"sim{seed}"
    if not _RUN_ID.match(prefix):
        raise ValueError("run_id must be 1-24 characters of A-Z a-z 0-9 _ . : - (it prefixes event ids)")
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    if sessions:
        activity = population.activity
        chosen = rng.choice(len(population), size=sessions, p=activity / activity.sum()).tolist()
    if surface not in FEED_PATHS:
        raise ValueError(f"surface must be one of {sorted(FEED_PATHS)}")
    run = _Run(client, behavior, corpus, rng, limit, prefix, surface)
    per_session = np.zeros(sessions, dtype=np.float64)
    bar = tqdm(chosen, total=sessions, disable=not progress, unit="session", desc="simulate", leave=False)
    for s, u in enumerate(bar):
        per_session[s] = run.session(s, population.users[u])
        if progress and s % 50 == 0 and run.report.impressions:
            bar.set_postfix(ctr=f"{run.report.clicks / run.report.impressions:.3f}", refresh=False)
    bar.close()

    r = run.report
    r.sessions = sessions
    r.errors = dict(sorted(run.errors.items()))
    r.session_ends = dict(sorted(run.ends.items()))
    r.ctr = r.clicks / r.impressions if r.impressions else 0.0
    r.engagement_per_session_mean, r.engagement_per_session_ci95 = mean_ci95(per_session)
    r.per_session = per_session.tolist()
    r.expected_engagement_per_impression = run.expected_sum / r.impressions if r.impressions else 0.0
    r.elapsed_s = time.perf_counter() - started
    return r

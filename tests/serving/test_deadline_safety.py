"""Past the deadline the feed still never shows NSFW posts to a user who did not opt in.

Regression: under CPU contention a request could pass its deadline before the candidate hydrators
ran, the post features (with ``over_18``) were skipped, and the essential NSFW filter then failed on
the missing column and let everything through.
"""

from __future__ import annotations

import time
from typing import Any

from feedmix.events.post_ids import post_ids_to_int
from feedmix.serving.runtime import Runtime


def _statuses(body: dict[str, Any]) -> dict[str, str]:
    return {c["component"]: c["status"] for s in body["trace"]["stages"] for c in s["components"]}


def test_an_expired_deadline_still_hydrates_and_applies_the_nsfw_filter(runtime: Runtime) -> None:
    corpus = runtime.corpus
    exploration = runtime.pipelines["home"].components["exploration"]
    real = exploration.fetch  # type: ignore[attr-defined]

    def late(query: Any) -> Any:  # an inline source that overruns the request's deadline
        time.sleep(0.25)
        return real(query)

    exploration.fetch = late  # type: ignore[attr-defined]
    try:
        for user in ("u0001", "u0002", "u0003"):
            body = runtime.feeds.feed(
                "home", user, limit=25, debug=True, overrides={"pipeline.deadline_ms": 100.0}
            )
            st = _statuses(body)
            assert st["online_features"] == "skipped"  # past the deadline: optional work dropped
            assert st["post_features"] == "ok" and st["nsfw_filter"] == "ok"  # essential work ran
            posts = [i for i in body["items"] if i.get("kind") != "ad"]
            assert posts  # the candidates gathered in time are still served
            rows = corpus.rows_of(post_ids_to_int([p["id"] for p in posts]))
            assert (rows >= 0).all() and not corpus.over_18[rows].any()
    finally:
        del exploration.fetch  # type: ignore[attr-defined]


def test_an_empty_candidate_set_calls_no_columnar_component(runtime: Runtime) -> None:
    """With every source switched off, the page is empty, and no hydrator or filter is called."""
    off = {f"{s.identifier}.enabled": False for s in runtime.pipelines["home"].sources}
    body = runtime.feeds.feed("home", "u0001", limit=25, debug=True, overrides=off)
    assert body["items"] == []
    assert body["ads"] == {"slots": 0, "served": 0, "degraded": False}
    columnar = [s for s in body["trace"]["stages"] if s["stage"] in ("candidate_hydration", "filters")]
    assert all(c["status"] == "ok" and c["candidates_in"] == 0 for s in columnar for c in s["components"])

"""A small corpus, a synthetic event log and one index directory built from them by the CLI.

Built once per session (about 2 s): the content index over 3,6k posts (the first 30 demo communities
plus every NSFW post, so NSFW exclusion has something to exclude) and the collaborative index from 60
users in three taste groups. Tests that publish or corrupt builds copy the directory first.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from feedmix import cli
from feedmix.config import FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus, demo_data_dir, resolve_posts_path
from feedmix.events.backends import open_event_log
from feedmix.events.schema import Event
from feedmix.serving.runtime import Runtime

#: the taste groups of the synthetic log: each group clicks posts of one community
GROUP_COMMUNITIES = ("aww", "gaming", "todayilearned")
USERS_PER_GROUP = 20


@dataclass(frozen=True)
class Built:
    """What the CLI built: the index directory, its JSON summary, and the log it learned from."""

    index_dir: Path
    summary: dict[str, Any]
    events_url: str
    #: post ids each group's users engaged with (the group's taste)
    group_posts: dict[str, np.ndarray]


def group_user(group: int, i: int) -> str:
    return f"g{group}-user{i:02d}"


@pytest.fixture(scope="session")
def small_posts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    table = pacsv.read_csv(
        resolve_posts_path(demo_data_dir()), parse_options=pacsv.ParseOptions(newlines_in_values=True)
    )
    first = pa.array(np.arange(table.num_rows) < 3000)
    keep = pc.or_(first, table["over_18"].cast(pa.bool_()))
    path = tmp_path_factory.mktemp("small-posts") / "reddit_posts.csv"
    pacsv.write_csv(table.filter(keep), path)
    shutil.copy(demo_data_dir() / "subreddits.json", path.parent / "subreddits.json")
    return path


@pytest.fixture(scope="session")
def small_corpus(small_posts: Path) -> RedditCorpus:
    return RedditCorpus.load(small_posts)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, small_posts: Path, small_corpus: RedditCorpus) -> Built:
    root = tmp_path_factory.mktemp("built-indexes")
    url = f"sqlite:///{root / 'events.db'}"
    rng = np.random.default_rng(5)
    group_posts: dict[str, np.ndarray] = {}
    events: list[Event] = []
    for g, name in enumerate(GROUP_COMMUNITIES):
        cid = small_corpus.community_id(name)
        assert cid is not None
        posts = small_corpus.ids[small_corpus.community_rows(cid)[:60]]
        group_posts[name] = posts
        for i in range(USERS_PER_GROUP):
            picked = rng.choice(posts, size=20, replace=False)
            for j, post in enumerate(picked.tolist()):
                pid = np.base_repr(post, 36).lower()
                for kind in ("impression", "click", *(("upvote",) if j < 5 else ())):
                    events.append(
                        Event(
                            event_id=f"{g}-{i}-{j}-{kind}",
                            type=kind,  # type: ignore[arg-type]
                            user_id=group_user(g, i),
                            post_id=pid,
                            ts=1_376_000_000.0 + len(events),
                        )
                    )
    log = open_event_log(url)
    log.append(events)
    log.close()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        args = ["--posts", str(small_posts), "--out", str(root / "index"), "--kind", "exact"]
        rc = cli.main(["index", "build", *args, "--events", url, "--threads", "1", "--quiet"])
    assert rc == 0
    return Built(root / "index", json.loads(out.getvalue()), url, group_posts)


def runtime_on(corpus: RedditCorpus, state: Path, index_dir: Path | None, **config: Any) -> Runtime:
    """A runtime on the small corpus, in-memory stores, serving ``index_dir``."""
    cfg: dict[str, Any] = {
        "state_dir": str(state),
        "users": 200,
        "event_log": "memory://",
        "feature_flush_interval_s": 3600.0,
        "index_watch_interval_s": 0.0,
        **config,
    }
    if index_dir is not None:
        cfg["index_dir"] = str(index_dir)
    return Runtime.build(FeedmixConfig(**cfg), corpus=corpus)


@pytest.fixture(scope="module")
def runtime(
    tmp_path_factory: pytest.TempPathFactory, small_corpus: RedditCorpus, built: Built
) -> Iterator[Runtime]:
    """Serves the session's build as it is (tests that change builds make their own runtime)."""
    rt = runtime_on(
        small_corpus, tmp_path_factory.mktemp("state"), built.index_dir, index_build_on_start=False
    )
    yield rt
    rt.close()

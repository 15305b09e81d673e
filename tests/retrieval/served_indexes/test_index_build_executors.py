"""``feedmix index build --executor ray``: the content and collaborative builds as Ray tasks on a real
cluster (started by the tests) publish the same indexes as the session's build in this process.

What is compared: every file of each build (index, ids, post vectors, query data, user factors, model
metadata) by checksum, under its path inside the version directory, and the manifests less what
names a build (version, time, timings, paths). The one file that is not byte for byte the same is
the pickled text model: pickling a set follows the process's string hashing, so its bytes differ
between processes; its fitted state (vocabulary, IDF weights, SVD components) is compared instead,
and must be equal to the last bit. ALS and the SVD are float training, but seeded and run with the
same thread counts on the same machine, so equal inputs give equal bits; across machines (another
BLAS, another CPU) only the same model up to rounding is promised.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from feedmix import cli
from feedmix.jobs.executor import Executor
from feedmix.retrieval.ann.manifest import read_manifest
from feedmix.retrieval.text_embeddings import MODEL_FILE, TextEmbeddings

from .conftest import Built

#: manifest keys that name one build rather than describe its content
PER_BUILD = {"version", "built_at", "timings", "files", "corpus", "format"}


def files_by_role(directory: Path) -> dict[str, str]:
    """Checksum by path inside the version; the pickled text model by name only (see above)."""
    m = read_manifest(directory)
    prefix = f"v{m.version}/"
    assert all(path.startswith(prefix) for path in m.files)
    return {
        path.removeprefix(prefix): "" if path.endswith(MODEL_FILE) else d["sha256"]
        for path, d in m.files.items()
    }


def fitted_state(directory: Path) -> list[np.ndarray]:
    """The text model's fitted arrays, loaded from the build (a file this test's builds wrote)."""
    m = read_manifest(directory)
    model = TextEmbeddings.load(m.directory / m.raw["embeddings_dir"]).model
    assert model is not None
    steps = model.pipeline.named_steps
    vocabulary = sorted(steps["tfidf"].vocabulary_.items())
    return [np.array(vocabulary), steps["tfidf"].idf_, steps["svd"].components_]


def content_of(directory: Path) -> dict[str, Any]:
    raw = read_manifest(directory).raw
    version = raw["version"]
    return {
        k: v.replace(f"v{version}", "v*") if isinstance(v, str) else v
        for k, v in raw.items()
        if k not in PER_BUILD
    }


def test_ray_tasks_publish_the_indexes_of_the_local_build(
    built: Built, small_posts: Path, tmp_path: Path, ray_executor: Executor
) -> None:
    out = io.StringIO()
    address = getattr(ray_executor, "address")  # noqa: B009 - not part of the Executor protocol
    args = ["--posts", str(small_posts), "--out", str(tmp_path / "index"), "--kind", "exact"]
    with contextlib.redirect_stdout(out):
        ray = ["--executor", "ray", "--ray-address", address]
        rc = cli.main(
            ["index", "build", *args, "--events", built.events_url, "--threads", "1", "--quiet", *ray]
        )
    assert rc == 0
    summary = json.loads(out.getvalue())
    assert summary["executor"] == "ray" and built.summary["executor"] == "local"
    for name in ("content", "collab"):
        assert summary[name]["count"] == built.summary[name]["count"] > 0
        ours, theirs = tmp_path / "index" / name, built.index_dir / name
        assert files_by_role(ours) == files_by_role(theirs), name
        assert content_of(ours) == content_of(theirs), name
    ours_state, theirs_state = (
        fitted_state(tmp_path / "index" / "content"),
        fitted_state(built.index_dir / "content"),
    )
    assert all(np.array_equal(a, b) for a, b in zip(ours_state, theirs_state, strict=True))
    assert len(files_by_role(tmp_path / "index" / "content")) >= 7


def test_an_open_event_log_cannot_go_to_a_cluster(small_posts: Path, ray_executor: Executor) -> None:
    import pytest

    from feedmix.corpus.reddit_corpus import RedditCorpus
    from feedmix.events.memory_event_log import MemoryEventLog
    from feedmix.retrieval.index_build import build_indexes

    with pytest.raises(ValueError, match="as a URL"):
        build_indexes(
            RedditCorpus.load(small_posts), "unused", events=MemoryEventLog(), executor=ray_executor
        )

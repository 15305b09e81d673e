"""The throwaway cluster stops every process it started, and only those."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest


def _processes_under(directory: str) -> list[int]:
    """Processes whose command line names ``directory`` (the cluster's own temporary root)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if directory in cmdline and int(entry.name) != os.getpid():
                found.append(int(entry.name))
    return found


def test_a_cluster_serves_tasks_and_leaves_no_process_behind() -> None:
    try:
        import ray  # noqa: F401

        from feedmix.jobs.local_ray_cluster import LocalRayCluster
    except ImportError as exc:  # pragma: no cover - depends on the machine
        from tests.conftest import _missing

        _missing("Ray", exc)
        raise
    if not Path("/proc").is_dir():  # pragma: no cover
        pytest.skip("needs /proc to list processes")
    cluster = LocalRayCluster(cpus=1)
    root = cluster._dir
    try:
        assert len(_processes_under(root)) >= 2  # at least the GCS server and the raylet
    finally:
        cluster.stop()
    deadline = time.monotonic() + 10
    while _processes_under(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_under(root) == []
    assert not Path(root).exists()

"""Executors by name, the one place that imports them: ``local`` (the default) or ``ray``."""

from __future__ import annotations

import os

from feedmix.jobs.executor import Executor
from feedmix.jobs.local_executor import LocalExecutor

EXECUTORS = ("local", "ray")


def make_executor(name: str = "local", address: str = "") -> Executor:
    """``address`` is the Ray cluster's head (``host:port``); empty means ``$RAY_ADDRESS``."""
    if name == "local":
        return LocalExecutor()
    if name == "ray":
        address = address or os.environ.get("RAY_ADDRESS", "")
        if not address:
            raise ValueError(
                "the ray executor needs the cluster's address: --ray-address host:port, [jobs] ray_address"
                " or $RAY_ADDRESS ('auto' joins the cluster `ray start` began on this machine)"
            )
        try:
            from feedmix.jobs.ray_executor import RayExecutor
        except ImportError as exc:
            raise ValueError(f"the ray executor needs Ray: pip install 'feedmix[ray]' ({exc})") from exc
        return RayExecutor(address)
    raise ValueError(f"unknown executor {name!r} (known: {', '.join(EXECUTORS)})")

"""What the console's ops page reads besides ``/metrics``: the latest load run on this machine and its
cost per component and per owning team (``GET /v1/ops/load-run``), which ``feedmix bench serving``
leaves in ``<state>/bench/serving-latest.json`` each time it runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException

LATEST_LOAD_RUN = "serving-latest.json"


def latest_load_run_path(state_dir: str | Path) -> Path:
    return Path(state_dir) / "bench" / LATEST_LOAD_RUN


def ops_router(state_dir: str | Path) -> APIRouter:
    router = APIRouter(tags=["ops"])

    @router.get("/v1/ops/load-run")
    def load_run() -> dict[str, Any]:
        """The latest ``feedmix bench serving`` run here: its latency, throughput and cost per team."""
        path = latest_load_run_path(state_dir)
        if not path.is_file():
            raise HTTPException(
                404, "no load run yet: run `feedmix bench serving --url http://127.0.0.1:8000` here"
            )
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise HTTPException(500, f"the latest load run could not be read: {e}") from None
        return data

    return router

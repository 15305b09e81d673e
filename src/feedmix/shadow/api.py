"""The shadows API (``/v1/shadows``), behind the operator key: which shadows run, and each one's report.

The report is computed from the shadow's records on each call (``read_records`` + ``compare``), so it is
always as fresh as the records; with ``?replay=true`` it reads the replay's records instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response

from feedmix.operator_key import require_operator
from feedmix.shadow.gates import evaluate
from feedmix.shadow.record import read_records
from feedmix.shadow.report import compare, distributions


def shadows_router(
    specs: Callable[[], Mapping[str, Mapping[str, Any]]],
    record_dir: Path,
    operator_key: str | None = None,
) -> APIRouter:
    """``specs()`` gives each shadow's config table by name; records live in ``record_dir/<name>/``."""
    router = APIRouter(
        prefix="/v1/shadows", tags=["shadows"], dependencies=[Depends(require_operator(operator_key))]
    )

    def _json(body: Any) -> Response:
        return Response(orjson.dumps(body), media_type="application/json")

    @router.get("")
    def list_shadows() -> Response:
        rows = []
        for name, table in specs().items():
            live = record_dir / name / "records.jsonl"
            rows.append(
                {
                    "name": name,
                    "pipeline": table.get("pipeline"),
                    "sample_rate": table.get("sample_rate", 0.1),
                    "params": table.get("params", {}),
                    "gates": table.get("gates", {}),
                    "records": sum(1 for _ in live.open()) if live.exists() else 0,
                    "replayed": (record_dir / name / "replay.jsonl").exists(),
                }
            )
        return _json({"shadows": rows})

    @router.get("/{name}/report")
    def report(name: str, replay: bool = False) -> Response:
        """Every metric, candidate and noise side by side, and the gates' verdict if it has gates."""
        table = specs().get(name)
        if table is None:
            raise HTTPException(404, detail=[{"loc": ["path", "name"], "msg": f"unknown shadow {name!r}"}])
        path = record_dir / name / ("replay.jsonl" if replay else "records.jsonl")
        if not path.exists():
            raise HTTPException(
                404, detail=[{"loc": ["path", "name"], "msg": f"no records yet at {path.name}"}]
            )
        records = read_records(path)
        result = compare(records)
        body: dict[str, Any] = {"name": name, "report": result, "distributions": distributions(records)}
        gates = table.get("gates")
        if gates:
            body["gates"] = evaluate(result, gates).to_dict()
        return _json(body)

    return router

"""The model registry over HTTP for operators (``/v1/models``, operator key): every registered version
of the ranker with its data window, rows and offline metrics, which one serves, the promotion history;
promote a version or roll back the last promotion. ``on_change`` lets the serving process swap the
model in at once instead of at its watcher's next look."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from feedmix.operator_key import require_operator
from feedmix.ranking.model_registry import ModelRegistry, ModelVersion, RegistryError

MODEL = "ranker"


def _version(v: ModelVersion) -> dict[str, Any]:
    m = v.meta
    return {
        "version": v.version,
        "created_at": v.created_at,
        "promoted": v.promoted,
        "rows": m.data_window.rows,
        "data_start_ts": m.data_window.start_ts,
        "data_end_ts": m.data_window.end_ts,
        "features": len(m.features),
        "metrics": dict(m.metrics),
        "code": v.code.describe(),
        "description": m.description,
    }


def models_router(
    registry: Callable[[], ModelRegistry],
    on_change: Callable[[], dict[str, Any]] | None = None,
    operator_key: str | None = None,
) -> APIRouter:
    router = APIRouter(
        prefix="/v1/models", tags=["models"], dependencies=[Depends(require_operator(operator_key))]
    )

    @router.get("")
    def list_models() -> dict[str, Any]:
        reg = registry()
        state = reg.state(MODEL)
        return {
            "name": MODEL,
            "promoted": state.promoted,
            "versions": [_version(v) for v in reg.list(MODEL)],
            "history": [
                {"action": e.action, "version": e.version, "previous": e.previous, "at": e.at}
                for e in state.history
            ],
        }

    def _changed(v: ModelVersion, action: str) -> dict[str, Any]:
        out: dict[str, Any] = {"action": action, "promoted": v.version}
        if on_change is not None:  # what the serving process made of it: swapped, or refused and why
            out["serving"] = on_change()
        return out

    @router.post("/{version}/promote")
    def promote(version: str) -> dict[str, Any]:
        """Serve ``version``: refused (409) when it is unknown or its files fail verification."""
        try:
            v = registry().promote(MODEL, version)
        except RegistryError as e:
            raise HTTPException(409, str(e)) from None
        return _changed(v, "promote")

    @router.post("/rollback")
    def rollback() -> dict[str, Any]:
        """Serve the version promoted before the current one again."""
        try:
            v = registry().rollback(MODEL)
        except RegistryError as e:
            raise HTTPException(409, str(e)) from None
        return _changed(v, "rollback")

    return router

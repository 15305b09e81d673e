"""The operator key: what the platform's own control APIs (experiments, later models and shadows) ask for.

One secret for operators, read from ``$FEEDMIX_OPERATOR_KEY`` (never from a file in the repository),
sent as ``Authorization: Bearer <key>``. With no key configured the control APIs answer 403 and say how
to turn them on; a wrong key is 401. ``feedmix demo`` makes a key when none is set and prints it, so the
demo's console and CLI work without a manual step. Compared in constant time.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from fastapi import HTTPException, Request

OPERATOR_KEY_ENV = "FEEDMIX_OPERATOR_KEY"
#: where ``feedmix demo`` leaves the key it made, for the CLI on the same machine (in the state dir)
KEY_FILE = "operator_key"


def configured_key() -> str:
    return os.environ.get(OPERATOR_KEY_ENV, "")


def require_operator(key: str | None = None) -> Callable[[Request], None]:
    """A FastAPI dependency that lets a request through only with the operator key (``key``, or
    ``$FEEDMIX_OPERATOR_KEY`` read when the app is built)."""
    expected = configured_key() if key is None else key

    def check(request: Request) -> None:
        if not expected:
            raise HTTPException(403, f"the operator API is off: start the server with {OPERATOR_KEY_ENV} set")
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
            raise HTTPException(401, "send the operator key as 'Authorization: Bearer <key>'")

    return check


def ensure_demo_key(state_dir: str | Path) -> str:
    """The operator key for a demo: ``$FEEDMIX_OPERATOR_KEY`` if set, else a new random key, exported to
    this process's environment and written to ``<state_dir>/operator_key`` (mode 0600) for the CLI."""
    key = configured_key() or "fmxop_" + secrets.token_urlsafe(24)
    os.environ[OPERATOR_KEY_ENV] = key
    path = Path(state_dir) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def read_key(state_dir: str | Path) -> str:
    """The key a CLI should send: ``$FEEDMIX_OPERATOR_KEY``, else the demo's key file, else empty."""
    key = configured_key()
    if key:
        return key
    path = Path(state_dir) / KEY_FILE
    return path.read_text().strip() if path.exists() else ""

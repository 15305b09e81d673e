from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def gql(client: TestClient, query: str, variables: dict[str, Any] | None = None, **params: str) -> Any:
    """POST an operation; the parsed body (the caller looks at data, errors and extensions)."""
    r = client.post("/graphql", params=params, json={"query": query, "variables": variables or {}})
    assert r.status_code == 200, r.text
    return r.json()

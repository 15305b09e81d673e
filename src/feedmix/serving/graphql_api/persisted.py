"""Persisted documents: the operations our clients ship live in ``operations/*.graphql``; a client sends
an operation's hash instead of its text (GraphQL-over-HTTP's ``documentId: "sha256:<hex>"``, or Apollo's
``extensions.persistedQuery.sha256Hash``). With ``persisted_only`` (production), any other text is
refused, which makes the API an allow-list of known operations; an unknown hash is always refused,
since nothing registers documents at run time."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OPERATIONS_DIR = Path(__file__).resolve().parent / "operations"


class PersistedQueryError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PersistedDocuments:
    by_hash: dict[str, str]
    persisted_only: bool = False

    @classmethod
    def load(cls, persisted_only: bool = False, directory: Path = OPERATIONS_DIR) -> PersistedDocuments:
        texts = (p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.graphql")))
        return cls({digest(t): t for t in texts}, persisted_only)

    def resolve(self, body: dict[str, Any]) -> str:
        """The document to run for a request body, or ``PersistedQueryError`` saying why none."""
        wanted = _hash_asked(body)
        query = body.get("query")
        if wanted is not None:
            text = self.by_hash.get(wanted)
            if text is None:
                raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", f"no persisted document {wanted}")
            return text
        if not isinstance(query, str) or not query.strip():
            raise PersistedQueryError("BAD_REQUEST", "query: required (or a documentId)")
        if self.persisted_only and digest(query) not in self.by_hash:
            raise PersistedQueryError(
                "PERSISTED_QUERY_REQUIRED", "only persisted documents are accepted here: send documentId"
            )
        return query


def _hash_asked(body: dict[str, Any]) -> str | None:
    document_id = body.get("documentId")
    if document_id is not None:
        if not isinstance(document_id, str) or not document_id.startswith("sha256:"):
            raise PersistedQueryError("BAD_REQUEST", 'documentId: expected "sha256:<hex>"')
        return document_id.removeprefix("sha256:").lower()
    ext = body.get("extensions")
    pq = ext.get("persistedQuery") if isinstance(ext, dict) else None
    if isinstance(pq, dict):
        sha = pq.get("sha256Hash")
        if not isinstance(sha, str):
            raise PersistedQueryError(
                "BAD_REQUEST", "extensions.persistedQuery.sha256Hash: expected a string"
            )
        return sha.lower()
    return None

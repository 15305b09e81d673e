"""Opaque pagination cursors: a scroll session id and the page number.

The session id keys what earlier pages served (in the session store), so a page never repeats
an item of an earlier page of the same scroll, even when rankings shift between pages.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass

_SESSION = re.compile(r"^[0-9a-f]{32}$")


class CursorError(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    session_id: str
    page: int

    @classmethod
    def new(cls) -> Cursor:
        return cls(uuid.uuid4().hex, 0)

    def next(self) -> Cursor:
        return Cursor(self.session_id, self.page + 1)

    def encode(self) -> str:
        raw = f"v1.{self.session_id}.{self.page}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            version, session_id, page = raw.split(".")
            if version != "v1" or not _SESSION.match(session_id):
                raise ValueError
            n = int(page)
            if not 0 < n <= 10_000:
                raise ValueError
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise CursorError("cursor is malformed or from another version; start again without it") from None
        return cls(session_id, n)

"""The signed token an ad item carries from the feed response to the tracking endpoints.

Billing must not trust the client with prices: the tracking endpoint needs to know which ad was
served to whom, where, at what price and against which reservation, and the client could change any
of it. So the decision is serialised into the ad item as ``<payload>.<signature>`` (URL-safe base64
of compact JSON, HMAC-SHA256 with the server's secret). The tracker verifies the signature and the
age (tokens older than ``max_age_s`` are refused: a click on a week-old page is not billed), and
gets the decision back without any server-side state, so any replica can take the event.

The secret comes from ``$FEEDMIX_ADS_TOKEN_SECRET``, else from ``<state_dir>/ads_token_secret``
(created once with 32 random bytes), so every process of one deployment shares it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feedmix.ads.decision.ad_decision import ServedAd

DEFAULT_MAX_AGE_S = 86_400.0


class BadToken(ValueError):
    """A token that is malformed, forged or too old."""


@dataclass(frozen=True)
class TokenPayload:
    """What the feed served: the decision, plus the page context the pCTR log needs."""

    served: ServedAd
    user_id: str
    request_id: str
    position: int
    issued_at: float
    community_match: int
    keyword_overlap: int

    @property
    def impression_id(self) -> str:
        """One id per served ad slot: request, slot and ad (an impression and its click share it)."""
        return f"{self.request_id}:{self.served.slot}:{self.served.ad_id}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AdTokens:
    def __init__(self, secret: bytes, max_age_s: float = DEFAULT_MAX_AGE_S) -> None:
        if len(secret) < 16:
            raise ValueError("the ad token secret must be at least 16 bytes")
        self._secret = secret
        self.max_age_s = max_age_s

    @classmethod
    def for_state_dir(cls, state_dir: str | os.PathLike[str]) -> AdTokens:
        env = os.environ.get("FEEDMIX_ADS_TOKEN_SECRET")
        if env:
            return cls(env.encode())
        path = Path(state_dir) / "ads_token_secret"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return cls(path.read_bytes())
        with os.fdopen(fd, "wb") as f:
            secret = secrets.token_bytes(32)
            f.write(secret)
        return cls(secret)

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def issue(self, payload: TokenPayload) -> str:
        # shallow copies: every field is a str/int/float, and asdict's deep copy cost more than
        # the HMAC on a page with four ads
        body = {**vars(payload), "served": dict(vars(payload.served))}
        text = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return f"{text}.{self._sign(text)}"

    def verify(self, token: str, now: float) -> TokenPayload:
        try:
            text, signature = token.split(".")
        except ValueError:
            raise BadToken("ad_token is not <payload>.<signature>") from None
        if not hmac.compare_digest(signature, self._sign(text)):
            raise BadToken("ad_token signature does not match")
        try:
            raw: dict[str, Any] = json.loads(_unb64(text))
            payload = TokenPayload(**{**raw, "served": ServedAd(**raw["served"])})
        except (ValueError, TypeError, KeyError) as exc:
            raise BadToken(f"ad_token payload is unreadable: {exc}") from None
        if now - payload.issued_at > self.max_age_s:
            raise BadToken("ad_token is too old to bill")
        return payload

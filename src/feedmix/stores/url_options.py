"""Component options carried in a backend URL's query string.

Stores and logs are configured by one URL each (``redis://host:6379/0?prefix=x&ttl_s=60``), so a
deployment changes backends by changing a string. Options are validated against the component's
list: a typo fails at startup instead of being silently ignored.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from urllib.parse import parse_qsl, urlsplit, urlunsplit


def url_options(url: str, allowed: Collection[str]) -> dict[str, str]:
    """The query-string options of ``url``; ValueError for one that is not in ``allowed``."""
    options: dict[str, str] = {}
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key not in allowed:
            raise ValueError(f"unknown option {key!r} in {url!r} (allowed: {sorted(allowed)})")
        options[key] = value
    return options


def without_query(url: str) -> str:
    """``url`` with its query string and fragment removed (what the client library gets)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def float_option(options: Mapping[str, str], name: str, default: float) -> float:
    """A finite number >= 0; the ValueError names the option when it is malformed."""
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"option {name}={raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"option {name}={raw!r} must be a finite number >= 0")
    return value


def int_option(options: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    """An integer >= ``minimum``; the ValueError names the option when it is malformed."""
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"option {name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ValueError(f"option {name}={raw!r} must be >= {minimum}")
    return value

"""A viewer's feed settings: NSFW opt-in, muted communities, communities to show fewer of.

The settings live server-side, not in a client, so every client the viewer uses (web, apps, the
GraphQL API) and every serving replica sees the same ones: muting a community on a phone mutes it
on the web too, whichever replica answers the next request. Unlike seen posts and feed sessions,
preferences do not expire: they are kept until the viewer changes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import orjson

_LISTS = ("muted_communities", "show_fewer")


@dataclass(frozen=True)
class ViewerPreferences:
    """One viewer's settings; the defaults are what a viewer who never set anything gets.

    Lists may be given as lists or tuples and are kept as tuples (the value is immutable). A
    ValueError names the offending field.
    """

    allow_nsfw: bool | None = None  # None: the user's profile decides
    muted_communities: tuple[str, ...] = ()  # never shown
    show_fewer: tuple[str, ...] = ()  # shown less (a rescoring rule)

    MAX_COMMUNITIES: ClassVar[int] = 100

    def __post_init__(self) -> None:
        if self.allow_nsfw is not None and not isinstance(self.allow_nsfw, bool):
            raise ValueError(f"allow_nsfw: must be true, false or null, not {self.allow_nsfw!r}")
        for name in _LISTS:
            value: Any = getattr(self, name)
            # a bare string is iterable too, and would silently become one community per letter
            if not isinstance(value, list | tuple):
                raise ValueError(f"{name}: must be a list of community names, not {type(value).__name__}")
            if len(value) > self.MAX_COMMUNITIES:
                raise ValueError(f"{name}: at most {self.MAX_COMMUNITIES} communities (got {len(value)})")
            for community in value:
                if not isinstance(community, str) or not community:
                    raise ValueError(f"{name}: community names must be non-empty strings, not {community!r}")
            object.__setattr__(self, name, tuple(value))

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "allow_nsfw": self.allow_nsfw,
                "muted_communities": self.muted_communities,
                "show_fewer": self.show_fewer,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes) -> ViewerPreferences:
        """The inverse of ``to_json``. Missing fields take their defaults and unknown ones are
        ignored, so replicas of different versions can read each other's writes; ValueError for
        anything that is not a JSON object of valid preferences."""
        data = orjson.loads(raw)  # orjson.JSONDecodeError is a ValueError
        if not isinstance(data, dict):
            raise ValueError(f"preferences must be a JSON object, not {type(data).__name__}")
        return cls(
            allow_nsfw=data.get("allow_nsfw"),
            muted_communities=data.get("muted_communities", ()),
            show_fewer=data.get("show_fewer", ()),
        )


class PreferenceStore(Protocol):
    """Preferences per viewer, kept until replaced. Backend failures raise StoreUnavailable."""

    def get(self, user_id: str) -> ViewerPreferences:
        """The viewer's preferences; ``ViewerPreferences()`` for a viewer who never set any."""
        ...

    def put(self, user_id: str, prefs: ViewerPreferences) -> None:
        """Replace the viewer's preferences with ``prefs`` (whole, not merged)."""
        ...

    def close(self) -> None: ...

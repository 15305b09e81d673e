"""The project's online features: engagement aggregates that the streaming aggregator keeps fresh.

Rates are smoothed with a Beta prior so that a post with one impression and one click does not
outrank everything with a CTR of 1.0::

    ctr = (clicks + CTR_PRIOR_STRENGTH * CTR_PRIOR) / (impressions + CTR_PRIOR_STRENGTH)

that is, every item starts with ``CTR_PRIOR_STRENGTH`` (20) pseudo-impressions at the prior rate
``CTR_PRIOR`` (5 %). With no data the rate equals the prior, which is therefore also the default
a reader gets for an unknown post: "unknown" and "no impressions yet" mean the same thing.

Every entity gets, per window, counts of what its events were (impressions, clicks, upvotes,
hides, comments) and the smoothed CTR of those windows (``ENTITY_WINDOWS``, ``ENTITY_COUNTS``):

* ``post``: 1h, 24h and 7d (what the post is doing now, today, this week);
* ``user``: 24h and 7d (how much and how the user engages: a heavy reader, a clicker, a hider);
* ``community``: 24h and 7d (how the community's posts do across all users);
* ``user_community``: 24h and 7d, without comments (how this user treats this community).

Names are ``<count>_<window>`` and ``ctr_<window>`` in every entity, in window order, counts
before the CTR.

TTLs are the longest window plus one hour (``_TTL_S`` follows ``WINDOWS``). The aggregator
rewrites a row whenever one of its window totals changes, including when events leave a window,
so the TTL is only the garbage collector for entities that stopped getting events (whose last
write is then all zeros anyway). Every feature of a row shares the TTL: a record expires as a
whole, so it must outlive the longest window any of its features counts over.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from feedmix.features.registry import Entity, FeatureDefinition, FeatureRegistry

OWNER = "feed-ranking"
CTR_PRIOR = 0.05
CTR_PRIOR_STRENGTH = 20.0
WINDOWS: dict[str, float] = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0}
_TTL_S = max(WINDOWS.values()) + 3600.0
#: every counted kind, in the aggregator's channel order (``streaming_aggregates.CHANNELS``)
COUNTS: tuple[str, ...] = ("impressions", "clicks", "upvotes", "hides", "comments")
#: the windows each entity is counted over (a subset of ``WINDOWS``, in ``WINDOWS`` order)
ENTITY_WINDOWS: dict[Entity, tuple[str, ...]] = {
    "post": ("1h", "24h", "7d"),
    "user": ("24h", "7d"),
    "user_community": ("24h", "7d"),
    "community": ("24h", "7d"),
}
#: the counts each entity has a feature for, per window (each window also gets ``ctr_<window>``)
ENTITY_COUNTS: dict[Entity, tuple[str, ...]] = {
    "post": COUNTS,
    "user": COUNTS,
    "user_community": ("impressions", "clicks", "upvotes", "hides"),
    "community": COUNTS,
}
# what one count of each entity is, for the descriptions: (count kind, window) -> text
_WHAT: dict[Entity, dict[str, str]] = {
    "post": {
        "impressions": "times the post was shown",
        "clicks": "clicks on the post",
        "upvotes": "upvotes of the post",
        "hides": "times the post was hidden",
        "comments": "comments on the post",
        "ctr": "click-through rate of the post",
    },
    "user": {
        "impressions": "posts the user was shown",
        "clicks": "posts the user clicked",
        "upvotes": "posts the user upvoted",
        "hides": "posts the user hid",
        "comments": "comments the user wrote",
        "ctr": "the user's click-through rate",
    },
    "user_community": {
        "impressions": "the community's posts shown to the user",
        "clicks": "the user's clicks on the community's posts",
        "upvotes": "the user's upvotes of the community's posts",
        "hides": "the community's posts the user hid",
        "ctr": "the user's click-through rate on the community's posts",
    },
    "community": {
        "impressions": "impressions of the community's posts",
        "clicks": "clicks on the community's posts",
        "upvotes": "upvotes of the community's posts",
        "hides": "hides of the community's posts",
        "comments": "comments on the community's posts",
        "ctr": "click-through rate of the community's posts",
    },
}


def smoothed_ctr(clicks: npt.ArrayLike, impressions: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The documented Beta-prior smoothing, vectorised (float32, the features' dtype)."""
    c = np.asarray(clicks, dtype=np.float64)
    i = np.asarray(impressions, dtype=np.float64)
    return ((c + CTR_PRIOR_STRENGTH * CTR_PRIOR) / (i + CTR_PRIOR_STRENGTH)).astype(np.float32)


def _count(entity: Entity, name: str, what: str) -> FeatureDefinition:
    return FeatureDefinition(entity, name, "int64", 0, _TTL_S, OWNER, what)


def _ctr(entity: Entity, name: str, what: str) -> FeatureDefinition:
    return FeatureDefinition(
        entity,
        name,
        "float32",
        float(np.float32(CTR_PRIOR)),
        _TTL_S,
        OWNER,
        f"{what}, smoothed: (clicks + {CTR_PRIOR_STRENGTH:g}·{CTR_PRIOR:g}) / "
        f"(impressions + {CTR_PRIOR_STRENGTH:g})",
    )


def feature_definitions() -> list[FeatureDefinition]:
    """All definitions, in storage order per entity (entities in ``ENTITY_WINDOWS`` order)."""
    defs: list[FeatureDefinition] = []
    for entity, windows in ENTITY_WINDOWS.items():
        what = _WHAT[entity]
        for window in windows:
            for kind in ENTITY_COUNTS[entity]:
                defs.append(_count(entity, f"{kind}_{window}", f"{what[kind]} in the last {window}"))
            defs.append(_ctr(entity, f"ctr_{window}", f"{what['ctr']} in the last {window}"))
    return defs


@lru_cache(maxsize=1)
def default_registry() -> FeatureRegistry:
    """The registry built from ``feature_definitions`` (shared; do not register into it)."""
    return FeatureRegistry(feature_definitions())


def features_table(registry: FeatureRegistry) -> str:
    """Plain aligned text, one feature per line, for ``feedmix features list``."""
    headers = ("entity", "name", "dtype", "default", "ttl", "owner", "description")
    rows = [
        (
            str(r["entity"]),
            str(r["name"]),
            str(r["dtype"]),
            f"{r['default']:g}" if isinstance(r["default"], float) else str(r["default"]),
            _duration(float(r["ttl_s"])),
            str(r["owner"]),
            str(r["description"]),
        )
        for r in registry.as_rows()
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [headers, *rows]
    ]
    return "\n".join(lines) + "\n"


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"

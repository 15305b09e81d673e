"""The project's online features: engagement aggregates that the streaming aggregator keeps fresh.

Rates are smoothed with a Beta prior so that a post with one impression and one click does not
outrank everything with a CTR of 1.0::

    ctr = (clicks + CTR_PRIOR_STRENGTH * CTR_PRIOR) / (impressions + CTR_PRIOR_STRENGTH)

that is, every item starts with ``CTR_PRIOR_STRENGTH`` (20) pseudo-impressions at the prior rate
``CTR_PRIOR`` (5 %). With no data the rate equals the prior, which is therefore also the default
a reader gets for an unknown post: "unknown" and "no impressions yet" mean the same thing.

TTLs are the longest window plus one hour. The aggregator rewrites a row whenever one of its
window totals changes, including when events leave a window, so the TTL is only the garbage
collector for entities that stopped getting events (whose last write is then all zeros anyway).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from feedmix.features.registry import Entity, FeatureDefinition, FeatureRegistry

OWNER = "feed-ranking"
CTR_PRIOR = 0.05
CTR_PRIOR_STRENGTH = 20.0
WINDOWS: dict[str, float] = {"1h": 3600.0, "24h": 86400.0}
_TTL_S = 25 * 3600.0


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
    """All definitions, in storage order per entity."""
    defs: list[FeatureDefinition] = []
    for window in WINDOWS:
        for kind in ("impressions", "clicks", "upvotes", "hides"):
            defs.append(_count("post", f"{kind}_{window}", f"{kind} of the post in the last {window}"))
    for window in WINDOWS:
        defs.append(_ctr("post", f"ctr_{window}", f"click-through rate of the post in the last {window}"))
    defs += [
        _count("user", "impressions_24h", "posts the user was shown in the last 24h"),
        _count("user", "clicks_24h", "posts the user clicked in the last 24h"),
        _count("user_community", "clicks_24h", "the user's clicks on the community's posts, last 24h"),
        _count("user_community", "impressions_24h", "the community's posts shown to the user, last 24h"),
        _count("user_community", "hides_24h", "the community's posts the user hid, last 24h"),
        _count("community", "impressions_24h", "impressions of the community's posts, last 24h"),
        _ctr("community", "ctr_24h", "click-through rate of the community's posts in the last 24h"),
    ]
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

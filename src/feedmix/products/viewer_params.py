"""A viewer's stored preferences as the params of their feed: the components that honour them
(``nsfw_filter``, ``muted_communities``, ``show_fewer``) read params, so one request carries its
viewer's settings like any other override, and the pipelines stay stateless. A param the caller sets
on the request wins over the stored preference (a client may show a muted community once)."""

from __future__ import annotations

from feedmix.stores.preference_store import ViewerPreferences

NSFW_CHOICE = "nsfw_filter.viewer_choice"
MUTED = "muted_communities.communities"
SHOW_FEWER = "show_fewer.communities"


def viewer_params(prefs: ViewerPreferences) -> dict[str, str]:
    out: dict[str, str] = {}
    if prefs.allow_nsfw is not None:
        out[NSFW_CHOICE] = "show" if prefs.allow_nsfw else "hide"
    if prefs.muted_communities:
        out[MUTED] = ",".join(prefs.muted_communities)
    if prefs.show_fewer:
        out[SHOW_FEWER] = ",".join(prefs.show_fewer)
    return out

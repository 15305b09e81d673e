"""The viewer's settings over GraphQL: read, change, and "show fewer like this" on a post. Stored in
the preference store the feed service reads, so the next feed of every API applies them. The store may
be remote (Redis), so its calls run on a worker thread; a change is a read, a merge and a write, which
two concurrent changes of one viewer can interleave (the last write wins, as in any settings page)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import ParamSpec, TypeVar

from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry import UNSET

from feedmix.serving.feed_service import USER_ID
from feedmix.serving.graphql_api.context import bad_input
from feedmix.serving.graphql_api.services import GraphQLServices
from feedmix.serving.graphql_api.types import Preferences, PreferencesInput, Viewer
from feedmix.stores.errors import StoreUnavailable
from feedmix.stores.preference_store import PreferenceStore, ViewerPreferences

_P = ParamSpec("_P")
_T = TypeVar("_T")
_INPUT_NAMES = {"allow_nsfw": "allowNsfw", "muted_communities": "mutedCommunities", "show_fewer": "showFewer"}


def _store(services: GraphQLServices) -> PreferenceStore:
    if services.preferences is None:
        raise GraphQLError("viewer preferences are off in this process", extensions={"code": "UNAVAILABLE"})
    return services.preferences


def _check_user(user_id: str) -> None:
    if not USER_ID.match(user_id):
        raise bad_input("userId", "1-64 characters of A-Z a-z 0-9 _ . : -")


def _viewer(user_id: str, prefs: ViewerPreferences) -> Viewer:
    return Viewer(
        user_id=user_id,
        preferences=Preferences(
            allow_nsfw=prefs.allow_nsfw,
            muted_communities=list(prefs.muted_communities),
            show_fewer=list(prefs.show_fewer),
        ),
    )


async def _call(fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except StoreUnavailable as e:
        raise GraphQLError(f"preference store unavailable: {e}", extensions={"code": "UNAVAILABLE"}) from None


async def read_viewer(services: GraphQLServices, user_id: str) -> Viewer:
    _check_user(user_id)
    prefs: ViewerPreferences = await _call(_store(services).get, user_id)
    return _viewer(user_id, prefs)


async def update_viewer(services: GraphQLServices, user_id: str, change: PreferencesInput) -> Viewer:
    _check_user(user_id)
    store = _store(services)
    current: ViewerPreferences = await _call(store.get, user_id)
    fields: dict[str, object] = {}
    if change.allow_nsfw is not UNSET:
        fields["allow_nsfw"] = change.allow_nsfw
    for name in ("muted_communities", "show_fewer"):
        value = getattr(change, name)
        if value is UNSET:
            continue
        names = list(value or [])
        for i, community in enumerate(names):
            if services.corpus.community_id(community) is None:
                raise bad_input(f"input.{_INPUT_NAMES[name]}.{i}", f"unknown community {community!r}")
        fields[name] = tuple(dict.fromkeys(names))  # once each, in the order given
    try:
        updated = replace(current, **fields)  # type: ignore[arg-type]
    except ValueError as e:
        field, _, message = str(e).partition(": ")
        raise bad_input(f"input.{_INPUT_NAMES.get(field, field)}", message) from None
    await _call(store.put, user_id, updated)
    return _viewer(user_id, updated)


async def show_fewer_like(services: GraphQLServices, user_id: str, community: str) -> Viewer:
    """Adds the community of a post the viewer pointed at to their "show fewer" list."""
    _check_user(user_id)
    store = _store(services)
    current: ViewerPreferences = await _call(store.get, user_id)
    if community in current.show_fewer:
        return _viewer(user_id, current)
    try:
        updated = replace(current, show_fewer=(*current.show_fewer, community))
    except ValueError as e:
        raise bad_input("postId", str(e)) from None
    await _call(store.put, user_id, updated)
    return _viewer(user_id, updated)

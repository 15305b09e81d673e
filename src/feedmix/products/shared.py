"""Component lists more than one product uses, written once.

Each entry names a component type (the module of ``feedmix.components``) and, where its params have
a name users already rely on (``p.trending.limit=``, ``ad_slots.enabled``), the identifier it keeps.
"""

from __future__ import annotations

from typing import Any

#: who the user is and what they have already seen (this session and before); the experiment
#: assignment first, as a param hydrator it decides the request's params before anything reads them
USER_CONTEXT: list[Any] = [
    {"type": "experiment_assignment_hydrator", "id": "experiments"},
    {"type": "user_profile_hydrator", "id": "user_profile"},
    {"type": "seen_posts_hydrator", "id": "seen_posts"},
    {"type": "session_served_hydrator", "id": "session_served"},
]

#: corpus features and content signals, then the online store's post, community, user x community and
#: user rows in one round trip (it needs the ``community`` column the first adds)
POST_FEATURES: list[Any] = [
    {"type": "post_features_hydrator", "id": "post_features"},
    {"type": "post_signals_hydrator", "id": "post_signals"},
    {
        "type": "online_features_hydrator",
        "id": "online_features",
        "options": {"entities": ["post", "community", "user_community", "user"]},
    },
]

#: what no feed shows: posts served earlier in this session or seen before, NSFW posts to users who
#: did not opt in, the communities the viewer muted, the same link twice
SAFETY_AND_SEEN_FILTERS: list[Any] = [
    {"type": "seen_posts_filter", "id": "served_in_session", "options": {"feature": "session.served"}},
    {"type": "seen_posts_filter", "id": "seen_posts_filter", "options": {"feature": "user.seen"}},
    "nsfw_filter",
    {"type": "muted_communities_filter", "id": "muted_communities"},
    "duplicate_content_filter",
]

#: the scroll session's record (before the response), the served mix by source, the experiment
#: exposures and the variants' request counts (after it)
SERVED_RECORDS: list[Any] = [
    {"type": "session_record_side_effect", "id": "session_record"},
    {"type": "served_mix_side_effect", "id": "served_mix"},
    {"type": "exposure_log_side_effect", "id": "exposure_log"},
    {"type": "request_stats_side_effect", "id": "request_stats"},
]

"""What the GraphQL layer serves from: the services REST uses, handed over by the serving app, so this
package never reaches into the runtime."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from feedmix.ads.api.ad_tracker import AdEventBatch
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.events.ingest import EventIngestor
from feedmix.serving.feed_service import FeedService
from feedmix.stores.preference_store import PreferenceStore


@dataclass(frozen=True)
class GraphQLServices:
    feeds: FeedService
    corpus: RedditCorpus
    ingestor: EventIngestor
    #: a post's signals: the streaming pass's values, else the corpus' (None: not labelled)
    signals_of: Callable[[list[str]], list[dict[str, Any] | None]]
    #: the surfaces a client may ask for, by GraphQL name, and the pipeline serving each
    surfaces: dict[str, str] = field(default_factory=lambda: {"HOME": "home"})
    #: viewers' stored settings (the feed service applies them; GraphQL reads and writes them)
    preferences: PreferenceStore | None = None
    #: the ad tracker's ``track`` (impressions and clicks by ad token; None: ads are off here)
    track_ad_events: Callable[[AdEventBatch], dict[str, Any]] | None = None

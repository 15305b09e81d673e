"""What a serving process runs for signals: the posts log, the streaming labeller (the production tier,
and the teacher's refining pass when configured) and the ``post_signals`` online store, opened together
and closed in reverse."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from feedmix.events.backends import open_event_log
from feedmix.events.event_log import EventLog
from feedmix.features.backends import open_online_store
from feedmix.features.online_store import OnlineStore
from feedmix.features.signal_definitions import signal_registry
from feedmix.signals.labeler import Labeler
from feedmix.signals.labelers import make_labeler
from feedmix.signals.new_post import NewPost
from feedmix.signals.streaming_labeller import StreamingLabeller

log = logging.getLogger(__name__)


@dataclass
class SignalsRuntime:
    posts_log: EventLog[NewPost]
    online: OnlineStore
    streamer: StreamingLabeller

    def close(self) -> None:
        self.streamer.close()
        self.online.close()
        self.posts_log.close()


def production_labeler(tier: str, state_dir: Path | None = None) -> Labeler:
    """The configured tier, or the rules while it has no trained model (said once in the log)."""
    try:
        return make_labeler(tier, state_dir)
    except FileNotFoundError as e:
        log.warning("signals: %s; new posts are labelled by the rules tier meanwhile", e)
        return make_labeler("rules")


def open_signals(
    posts_log_url: str, feature_store_url: str, state_dir: str, tier: str, refine: str
) -> SignalsRuntime:
    if posts_log_url.startswith("sqlite:///"):
        Path(posts_log_url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    posts_log = open_event_log(posts_log_url, NewPost)
    online = open_online_store(feature_store_url, signal_registry())
    refiner = None
    if refine:
        try:
            refiner = make_labeler(refine, Path(state_dir))
        except FileNotFoundError as e:
            log.warning("signals: no refining pass: %s", e)
    streamer = StreamingLabeller(
        posts_log,
        production_labeler(tier, Path(state_dir)),
        refiner=refiner,
        online=online,
        checkpoint_dir=Path(state_dir) / "signals" / "stream",
    )
    streamer.start()
    return SignalsRuntime(posts_log, online, streamer)

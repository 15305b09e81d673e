"""The ad serving parts of one process, opened from the config and closed together."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from feedmix.ads.ad_decision import AdServer
from feedmix.ads.ad_token import AdTokens
from feedmix.ads.ad_tracker import AdTracker
from feedmix.ads.campaign_store import CampaignStore
from feedmix.ads.event_dedup import EventDedup, open_event_dedup
from feedmix.ads.feed_ads import FeedAds
from feedmix.ads.frequency_caps import open_frequency_store
from feedmix.ads.spend_counters import open_spend_counters
from feedmix.config import FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.features.offline.served_log import ServedFeatureLog


@dataclass
class AdsRuntime:
    server: AdServer
    feed_ads: FeedAds
    tracker: AdTracker
    dedup: EventDedup
    log: ServedFeatureLog

    def close(self) -> None:
        self.feed_ads.close()  # the campaign watcher and the pacer thread
        self.log.close()
        self.dedup.close()
        self.server.counters.close()
        self.server.frequency.close()


def open_ads(cfg: FeedmixConfig, store: CampaignStore, corpus: RedditCorpus) -> AdsRuntime:
    """The ad server over the store's active campaigns, with the configured shared counters."""
    server = AdServer(
        [], counters=open_spend_counters(cfg.ads_counters), frequency=open_frequency_store(cfg.ads_frequency)
    )
    tokens = AdTokens.for_state_dir(cfg.state_dir)
    feed_ads = FeedAds(server, store, tokens, corpus)
    feed_ads.refresh(time.time())
    server.start_pacing_thread()
    if cfg.ads_refresh_interval_s > 0:
        feed_ads.start_watching(cfg.ads_refresh_interval_s, time.time)
    dedup = open_event_dedup(cfg.ads_dedup)
    log = ServedFeatureLog(Path(cfg.state_dir) / "ad_log", flush_interval_s=5.0)
    return AdsRuntime(server, feed_ads, AdTracker(server, store, tokens, dedup, log), dedup, log)

"""The ad serving parts of one process, opened from the config and closed together.

The pCTR model: if ``<state_dir>/ads_pctr.json`` exists (what ``feedmix ads train-pctr`` writes),
the ad server scores with it; otherwise with the prior CTR. The file is re-checked on the campaign
watcher's thread (every ``ads_refresh_interval_s``), so a retrained model is picked up without a
restart. Loading is fail-open: an unreadable or incompatible file is logged and the server keeps
what it was serving (the prior at startup, the last good model afterwards) — a bad training run
must never take ads down. Deleting the file goes back to the prior, the operator's rollback.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from feedmix.ads.api.ad_tracker import AdTracker
from feedmix.ads.api.event_dedup import EventDedup, open_event_dedup
from feedmix.ads.decision.ad_decision import AdServer
from feedmix.ads.decision.ad_token import AdTokens
from feedmix.ads.decision.feed_ads import FeedAds
from feedmix.ads.decision.frequency_caps import open_frequency_store
from feedmix.ads.decision.spend_counters import open_spend_counters
from feedmix.ads.pctr.pctr_model import PctrModel, PctrModelFileError, PriorPctr
from feedmix.ads.store.campaign_store import CampaignStore
from feedmix.config import FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.features.offline.served_log import ServedFeatureLog

log = logging.getLogger(__name__)

#: the model file under ``state_dir`` that serving loads and ``feedmix ads train-pctr`` writes
PCTR_FILE = "ads_pctr.json"

_Signature = tuple[int, int, int]


def pctr_path(cfg: FeedmixConfig) -> Path:
    return Path(cfg.state_dir) / PCTR_FILE


class PctrModelFile:
    """Keeps ``server``'s pCTR model in step with the file at ``path`` (see the module docstring).

    ``check()`` compares the file's (mtime, size, inode) with the last one seen, so an unchanged
    file costs one ``stat``; the writer replaces the file atomically, so a change is a whole model.
    A bad file is remembered by its signature and not retried until it changes again.
    """

    def __init__(self, server: AdServer, path: Path) -> None:
        self.server, self.path = server, path
        self._seen: _Signature | None = None
        #: the last load error (empty when the current file loaded), for health and debugging
        self.error = ""
        #: the signature of the file the served model came from (None: serving the prior)
        self.loaded: _Signature | None = None

    def _signature(self) -> _Signature | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def check(self) -> bool:
        """Load the file if it changed since the last check; True if the served model changed."""
        sig = self._signature()
        if sig == self._seen:
            return False
        self._seen = sig
        if sig is None:  # removed: back to the prior
            self.error = ""
            if self.loaded is None:
                return False
            self.server.set_pctr_model(PriorPctr(self.server.config.prior_ctr))
            self.loaded = None
            log.info("ads: pCTR model %s removed; serving the prior CTR", self.path)
            return True
        try:
            model = PctrModel.load(self.path)
        except PctrModelFileError as exc:
            self.error = str(exc)
            log.warning(
                "ads: pCTR model not loaded, keeping the %s: %s",
                "last good model" if self.loaded else "prior CTR",
                exc,
            )
            return False
        self.server.set_pctr_model(model)
        self.loaded, self.error = sig, ""
        log.info("ads: serving pCTR model %s (%d training impressions)", self.path, model.n_train)
        return True


@dataclass
class AdsRuntime:
    server: AdServer
    feed_ads: FeedAds
    tracker: AdTracker
    dedup: EventDedup
    log: ServedFeatureLog
    pctr: PctrModelFile

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
    pctr = PctrModelFile(server, pctr_path(cfg))
    pctr.check()
    tokens = AdTokens.for_state_dir(cfg.state_dir)
    feed_ads = FeedAds(server, store, tokens, corpus)
    feed_ads.refresh(time.time())
    server.start_pacing_thread()
    if cfg.ads_refresh_interval_s > 0:
        feed_ads.also_on_tick.append(pctr.check)
        feed_ads.start_watching(cfg.ads_refresh_interval_s, time.time)
    dedup = open_event_dedup(cfg.ads_dedup)
    log = ServedFeatureLog(Path(cfg.state_dir) / "ad_log", flush_interval_s=5.0)
    return AdsRuntime(server, feed_ads, AdTracker(server, store, tokens, dedup, log), dedup, log, pctr)

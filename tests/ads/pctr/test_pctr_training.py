"""pCTR trained from an ad log written by the tracking endpoints' own code beats the prior on the
latest impressions, and too little data is refused without writing anything."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from feedmix.ads.api.ad_tracker import AdEvent, AdEventBatch, AdTracker
from feedmix.ads.api.event_dedup import open_event_dedup
from feedmix.ads.decision.ad_decision import AdServer, ServedAd
from feedmix.ads.decision.ad_token import AdTokens, TokenPayload
from feedmix.ads.decision.frequency_caps import open_frequency_store
from feedmix.ads.decision.spend_counters import day_of, open_spend_counters
from feedmix.ads.pctr.ad_log_generator import generate_ad_log
from feedmix.ads.pctr.pctr_model import PctrModel
from feedmix.ads.pctr.pctr_training import NotEnoughAdData, main, train_pctr_from_log
from feedmix.ads.store.backends import open_campaign_store
from feedmix.ads.store.synthetic_campaigns import synthetic_snapshot
from feedmix.features.offline.served_log import ServedFeatureLog

N_IMPRESSIONS = 6000
BATCH = 400


def _track_generated_log(state: Path) -> int:
    """Send generated impressions and their ground-truth clicks through ``AdTracker.track``.

    The rows (which ad group, at which position, with which page match) and the clicks come from
    ``generate_ad_log``'s known click model; everything else is the service's code path: signed
    tokens, dedup, billing, and the Parquet ad log that ``ad_log_table`` reads. Returns the clicks.
    """
    now = time.time()
    snapshot = synthetic_snapshot(40, [f"c{i}" for i in range(6)], now=now, seed=11)
    groups = {g.ad_group_id: g for _, g, _ in snapshot}
    ads = {g.ad_group_id: a[0].ad_id for _, g, a in snapshot}
    rows, _ = generate_ad_log(snapshot, N_IMPRESSIONS, seed=12, base_logit=-3.0)
    server = AdServer(
        snapshot, counters=open_spend_counters("memory://"), frequency=open_frequency_store("memory://")
    )
    store = open_campaign_store(f"sqlite:///{state / 'ads.db'}")
    dedup = open_event_dedup("memory://")
    log = ServedFeatureLog(state / "ad_log", flush_interval_s=None)
    tokens = AdTokens(b"test-secret-of-32-bytes-at-least!")
    tracker = AdTracker(server, store, tokens, dedup, log)
    try:
        for start in range(0, N_IMPRESSIONS, BATCH):
            ts = now + start  # later batches are later impressions: the holdout is the last ones
            events: list[AdEvent] = []
            for i in range(start, min(start + BATCH, N_IMPRESSIONS)):
                g = groups[str(rows["ad_group_id"][i])]
                served = ServedAd(
                    g.campaign_id, g.ad_group_id, ads[g.ad_group_id], g.bid_kind, 1000, 1, day_of(ts), 0
                )
                payload = TokenPayload(
                    served=served,
                    user_id=f"u{i % 500}",
                    request_id=f"r{i}",
                    position=int(rows["position"][i]),
                    issued_at=ts,
                    community_match=int(rows["community_match"][i]),
                    keyword_overlap=int(rows["keyword_overlap"][i]),
                )
                token = tokens.issue(payload)
                events.append(AdEvent(event_id=f"i{i}", type="impression", ad_token=token))
                if rows["clicked"][i]:
                    events.append(AdEvent(event_id=f"c{i}", type="click", ad_token=token))
            tracker.track(AdEventBatch(events=events), now=ts)
    finally:
        log.close()
        dedup.close()
        store.close()
        server.close()
    return int(np.sum(rows["clicked"]))


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    state = tmp_path_factory.mktemp("ads_state")
    clicks = _track_generated_log(state)
    yield state, clicks


def test_model_trained_from_the_tracked_log_beats_the_prior(state: tuple[Path, int], tmp_path: Path) -> None:
    state_dir, clicks = state
    out = tmp_path / "ads_pctr.json"
    summary = train_pctr_from_log(state_dir / "ad_log", out)
    assert summary["impressions"] == N_IMPRESSIONS and summary["clicks"] == clicks
    assert summary["holdout_impressions"] == N_IMPRESSIONS // 5
    model, prior = summary["holdout"]["model"], summary["holdout"]["prior"]
    assert prior["auc"] == 0.5  # one constant CTR ranks nothing
    assert model["auc"] > prior["auc"] + 0.05 and model["log_loss"] < prior["log_loss"]
    assert summary["beats_prior"]
    loaded = PctrModel.load(out)
    assert loaded.n_train == N_IMPRESSIONS and len(loaded.group_log_coec) == summary["ad_groups"]
    # the learned position effect has the ground truth's sign: lower slots are clicked less
    assert loaded.position_weights[-1] < 0


def test_too_little_data_is_refused_and_nothing_is_written(state: tuple[Path, int], tmp_path: Path) -> None:
    state_dir, clicks = state
    out = tmp_path / "ads_pctr.json"
    with pytest.raises(NotEnoughAdData, match=f"{N_IMPRESSIONS} impressions .* at least 1000000 impressions"):
        train_pctr_from_log(state_dir / "ad_log", out, min_impressions=1_000_000)
    with pytest.raises(NotEnoughAdData, match=f"{clicks} clicks"):
        train_pctr_from_log(state_dir / "ad_log", out, min_clicks=clicks + 1)
    with pytest.raises(NotEnoughAdData, match="0 impressions and 0 clicks"):
        train_pctr_from_log(tmp_path / "no_log", out)
    assert not out.exists()


def test_cli_trains_with_json_summary_and_exits_2_when_refused(
    state: tuple[Path, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_dir, _ = state
    out = tmp_path / "cli" / "ads_pctr.json"
    assert main(["--log", str(state_dir / "ad_log"), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == str(out) and out.exists()

    config = tmp_path / "feedmix.toml"
    config.write_text(f'[stores]\nstate_dir = "{tmp_path / "empty_state"}"\n')
    assert main(["--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "NotEnoughAdData" not in err and "0 impressions and 0 clicks" in err and "empty_state" in err

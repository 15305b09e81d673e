"""In the running service: the pCTR model file is loaded fail-open and reloaded when it changes,
and ``GET /v1/ads/explain`` tells an advertiser why its own ad group would not serve."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from feedmix.ads.ads_runtime import PCTR_FILE, PctrModelFile
from feedmix.ads.api.explain_api import explain_router
from feedmix.ads.decision.ad_decision import AdServer
from feedmix.ads.decision.frequency_caps import open_frequency_store
from feedmix.ads.decision.spend_counters import open_spend_counters
from feedmix.ads.pctr.ad_log_generator import generate_ad_log
from feedmix.ads.pctr.pctr_model import PctrModel, PriorPctr
from feedmix.ads.store.synthetic_campaigns import synthetic_snapshot
from feedmix.config import FeedmixConfig
from feedmix.serving.app import create_app
from feedmix.serving.runtime import Runtime
from tests.ads.service_helpers import ads_runtime, new_ad_group


def _model(seed: int = 0) -> PctrModel:
    snapshot = synthetic_snapshot(20, [f"c{i}" for i in range(8)], now=time.time(), seed=seed)
    log, _ = generate_ad_log(snapshot, 5000, seed=seed, base_logit=-3.0)
    return PctrModel.train(log)


def _advertiser(
    client: TestClient, name: str, targeting: dict[str, Any] | None = None
) -> tuple[dict[str, str], str]:
    return new_ad_group(
        client, name, targeting=targeting or {}, frequency_cap={"max_impressions": 1, "window_s": 3600}
    )


def test_model_file_is_loaded_fail_open_and_reloaded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = AdServer(
        [], counters=open_spend_counters("memory://"), frequency=open_frequency_store("memory://")
    )
    path = tmp_path / PCTR_FILE
    good = _model()
    good.save(path)
    watcher = PctrModelFile(server, path)
    assert watcher.check() and server.pctr_model == good  # present at startup: served
    assert not watcher.check()  # unchanged: nothing reloaded

    with caplog.at_level(logging.WARNING, logger="feedmix.ads.ads_runtime"):
        path.write_text('{"format": "feedmix.pctr.v999"}')
        assert not watcher.check()
    assert server.pctr_model == good and "keeping the last good model" in caplog.text
    assert "unsupported pCTR model format" in watcher.error

    newer = _model(seed=1)
    newer.save(path)
    assert watcher.check() and server.pctr_model == newer and watcher.error == ""
    path.unlink()
    assert watcher.check() and isinstance(server.pctr_model, PriorPctr)  # removed: the rollback
    server.close()


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Runtime, TestClient]]:
    monkeypatch.setenv("FEEDMIX_ADS_ADMIN_TOKEN", "admin-secret")
    (tmp_path / PCTR_FILE).write_text("not json at all")  # a broken training run left this
    rt = ads_runtime(tmp_path)
    try:
        app = create_app(rt)
        assert rt.ads is not None and rt.campaigns is not None
        app.include_router(explain_router(rt.ads, rt.campaigns))
        with TestClient(app) as client:
            yield rt, client
    finally:
        rt.close()


def test_bad_model_file_keeps_the_prior_serving_and_a_good_one_is_picked_up(
    served: tuple[Runtime, TestClient], tmp_path: Path
) -> None:
    rt, client = served
    assert rt.ads is not None
    assert isinstance(rt.ads.server.pctr_model, PriorPctr) and "not valid JSON" in rt.ads.pctr.error
    _advertiser(client, "acme")
    assert rt.ads.feed_ads.refresh(time.time())
    body = client.get("/v1/feed", params={"user_id": "u0001", "limit": 25}).json()
    assert body["ads"]["served"] == 1 and not body["ads"]["degraded"]

    _model().save(tmp_path / PCTR_FILE)  # `feedmix ads train-pctr` wrote a good one
    assert rt.ads.pctr.check() and isinstance(rt.ads.server.pctr_model, PctrModel)
    body = client.get("/v1/feed", params={"user_id": "u0002", "limit": 25}).json()
    assert body["ads"]["served"] == 1 and not body["ads"]["degraded"]


def test_explain_gives_reasons_for_the_owner_and_404_to_others(served: tuple[Runtime, TestClient]) -> None:
    rt, client = served
    assert rt.ads is not None
    community = rt.corpus.communities[0]
    h, group = _advertiser(client, "acme", {"exclude_communities": [community], "geos": ["US"]})
    other_h, other_group = _advertiser(client, "rival")
    assert rt.ads.feed_ads.refresh(time.time())

    def explain(headers: dict[str, str], **params: Any) -> Any:
        return client.get("/v1/ads/explain", params=params, headers=headers)

    r = explain(h, ad_group_id=group, user_id="u0001", community=community, keywords="cats,dogs", geo="FR")
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body["would_serve"] and body["in_index"] and body["pctr"]["model"] == "prior"
    assert any(x.startswith("community_exclusion") and community.lower() in x for x in body["reasons"])
    assert any(x.startswith("geo: 'FR'") for x in body["reasons"])
    assert body["frequency"] == {"max_impressions": 1, "window_s": 3600.0, "user_impressions_in_window": 0}
    assert body["pacing"]["day_cap_micros"] == 20_000_000

    ok = explain(h, ad_group_id=group, user_id="u0001", community="somewhere_else", geo="US").json()
    assert ok["would_serve"] and ok["reasons"] == []

    # another advertiser's ad group looks exactly like one that does not exist
    assert explain(h, ad_group_id=other_group).status_code == 404
    assert explain(h, ad_group_id="nope").status_code == 404
    assert explain(other_h, ad_group_id=group).status_code == 404
    assert explain(other_h, ad_group_id=other_group).status_code == 200
    assert explain({}, ad_group_id=group).status_code == 401
    assert explain({"Authorization": "Bearer wrong"}, ad_group_id=group).status_code == 401


def test_the_campaign_watcher_picks_up_a_new_model_file(tmp_path: Path) -> None:
    cfg = FeedmixConfig(
        state_dir=str(tmp_path),
        users=50,
        event_log="memory://",
        index_watch_interval_s=0,
        ranking_watch_interval_s=0,
        ads_refresh_interval_s=0.05,
    )
    rt = Runtime.build(cfg)
    try:
        assert rt.ads is not None and isinstance(rt.ads.server.pctr_model, PriorPctr)
        model = _model()
        model.save(tmp_path / PCTR_FILE)
        deadline = time.monotonic() + 30.0  # a generous bound for a loaded machine, not a timing check
        while rt.ads.server.pctr_model != model and time.monotonic() < deadline:
            time.sleep(0.02)
        assert rt.ads.server.pctr_model == model
    finally:
        rt.close()

"""The demo's campaigns: seeded only into an empty store, and the demo feed then shows ads."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedmix.config import FeedmixConfig
from feedmix.serving import cli as serving_cli
from feedmix.serving.runtime import Runtime


def test_demo_campaigns_make_the_feed_show_ads_and_never_touch_a_used_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = FeedmixConfig(
        state_dir=str(tmp_path),
        users=50,
        event_log="memory://",
        index_watch_interval_s=0,
        ads_refresh_interval_s=0,
    )
    cfg.ads_demo_campaigns = True
    rt = Runtime.build(cfg)
    try:
        assert rt.campaigns is not None and len(rt.campaigns.list_advertisers()) > 1
        assert rt.ads is not None and len(rt.ads.server.index) == 60
        pages = [rt.feeds.feed("home", f"u{i:04d}", 25) for i in range(1, 21)]
        ads = [i for p in pages for i in p["items"] if i["kind"] == "ad"]
        assert ads, "twenty demo pages served no ad"
        assert all(i["position"] >= 2 for i in ads)
        # `feedmix feed` prints ad items as ads, not as posts
        page = next(p for p in pages if any(i["kind"] == "ad" for i in p["items"]))
        serving_cli._print_feed(page, explain=False)
        assert "[ad]" in capsys.readouterr().out
    finally:
        rt.close()
    again = Runtime.build(cfg)  # the store has advertisers now: nothing is added
    try:
        assert again.ads is not None and len(again.ads.server.index) == 60
    finally:
        again.close()

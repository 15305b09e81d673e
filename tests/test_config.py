"""The config file: defaults that run, unknown keys named, bad pipeline params fail at startup."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedmix.config import ConfigFileError, FeedmixConfig
from feedmix.core.pipeline import ConfigError
from feedmix.serving.runtime import Runtime

REPO = Path(__file__).resolve().parents[1]


def test_shipped_config_file_loads() -> None:
    cfg = FeedmixConfig.from_toml(REPO / "config" / "feedmix.toml")
    assert cfg.port == 8000 and cfg.posts == "demo"
    assert cfg.pipeline_params["home"]["trending.limit"] == 300


def test_scale_out_config_shares_every_store_and_counts_in_workers() -> None:
    cfg = FeedmixConfig.from_toml(REPO / "config" / "scale-out.toml")
    assert cfg.feature_aggregates == "workers" and cfg.event_log.startswith("redis://")
    shared = [cfg.seen_store, cfg.session_store, cfg.preference_store, cfg.feature_store, cfg.cache_url]
    shared += [cfg.ads_counters, cfg.ads_frequency, cfg.ads_dedup, cfg.feature_aggregates_url]
    assert all(url.startswith("redis://") for url in shared), shared


@pytest.mark.parametrize(
    "features,match",
    [
        ({"aggregates": "sometimes"}, "features.aggregates"),
        ({"aggregates": "workers"}, "features.aggregates_url"),
        ({"aggregates": "workers", "aggregates_url": "redis://127.0.0.1:6379/0"}, "stores.event_log"),
    ],
)
def test_workers_mode_needs_redis_for_the_log_and_the_counts(features: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigFileError, match=match):
        FeedmixConfig.from_dict({"features": features})


@pytest.mark.parametrize(
    "text,match",
    [
        ("[servr]\nport = 1\n", r"unknown section \[servr\]"),
        ("[server]\nprot = 1\n", "unknown key server.prot"),
        ("[server]\nport = 99999\n", "server.port"),
        ("[server]\nport = 'eighty'\n", "port"),
        ("not toml at all [", "feedmix.toml"),
    ],
)
def test_bad_config_files_are_named(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "feedmix.toml"
    path.write_text(text)
    with pytest.raises(ConfigFileError, match=match):
        FeedmixConfig.from_toml(path)


def test_pipeline_param_overrides_reach_the_pipeline(tmp_path: Path) -> None:
    cfg = FeedmixConfig(
        state_dir=str(tmp_path),
        users=10,
        event_log="memory://",
        pipeline_params={"home": {"trending.limit": 7}},
    )
    rt = Runtime.build(cfg)
    try:
        assert rt.pipelines["home"].default_params["trending.limit"] == 7
    finally:
        rt.close()


def test_out_of_range_pipeline_param_fails_at_startup(tmp_path: Path) -> None:
    cfg = FeedmixConfig(
        state_dir=str(tmp_path),
        users=10,
        event_log="memory://",
        pipeline_params={"home": {"trending.limit": -1}},
    )
    with pytest.raises(ConfigError, match=r"trending\.limit"):
        Runtime.build(cfg)


def test_feature_store_settings_load_with_defaults_that_run(tmp_path: Path) -> None:
    default = FeedmixConfig(state_dir=str(tmp_path))
    assert default.feature_store == "memory://"
    assert default.feature_log_dir == str(tmp_path.resolve() / "feature_log")
    assert default.feature_offline_dir == str(tmp_path.resolve() / "offline_features")

    cfg = FeedmixConfig.from_dict(
        {
            "stores": {"state_dir": str(tmp_path), "features": "redis://127.0.0.1:6379/0?prefix=x"},
            "features": {
                "flush_interval_s": 2,
                "log_sample_rate": 0.5,
                "log_dir": str(tmp_path / "fl"),
                "offline_dir": "off",
            },
        }
    )
    assert cfg.feature_store == "redis://127.0.0.1:6379/0?prefix=x"
    assert (cfg.feature_flush_interval_s, cfg.feature_log_sample_rate) == (2, 0.5)
    assert cfg.feature_log_dir == str(tmp_path / "fl")
    assert cfg.feature_offline_dir == "off"


@pytest.mark.parametrize(
    "text,match",
    [
        ("[features]\nlog_sample_rate = 2.0\n", "log_sample_rate"),
        ("[features]\nflush_interval_s = 0\n", "flush_interval_s"),
        ("[features]\nflush_interval_s = 'often'\n", "expected a number"),
        ("[features]\nsample = 1\n", "unknown key features.sample"),
    ],
)
def test_bad_feature_settings_are_named(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "feedmix.toml"
    path.write_text(text)
    with pytest.raises(ConfigFileError, match=match):
        FeedmixConfig.from_toml(path)


def test_an_unknown_feature_store_url_fails_at_startup(tmp_path: Path) -> None:
    cfg = FeedmixConfig(state_dir=str(tmp_path), users=10, event_log="memory://", feature_store="bogus://x")
    with pytest.raises(ValueError, match="bogus"):
        Runtime.build(cfg)


def test_to_toml_round_trips_every_setting(tmp_path: Path) -> None:
    cfg = FeedmixConfig(
        port=18001,
        posts="demo",
        now=1376947028.5,
        users=77,
        state_dir=str(tmp_path / "s"),
        feature_store="redis://127.0.0.1:6379/0?prefix=x",
        shed_target_ms=40.0,
        ads_enabled=False,
        ranking_runtime="native",
        pipeline_params={"home": {"trending.limit": 120, "ad_slots.enabled": False, "a.b": 'x"y'}},
    )
    path = tmp_path / "c.toml"
    path.write_text(cfg.to_toml("a header\nof two lines"))
    assert FeedmixConfig.from_toml(path) == cfg
    assert FeedmixConfig.from_toml(tmp_path / "c.toml").to_toml() == cfg.to_toml()
    # ``now`` unset stays unset
    plain = FeedmixConfig(state_dir=str(tmp_path / "p"))
    path.write_text(plain.to_toml())
    assert FeedmixConfig.from_toml(path).now is None


def test_jobs_pick_an_executor_and_refuse_an_unknown_one() -> None:
    assert (FeedmixConfig().jobs_executor, FeedmixConfig().jobs_ray_address) == ("local", "")
    cfg = FeedmixConfig.from_dict({"jobs": {"executor": "ray", "ray_address": "10.0.0.5:6379"}})
    assert (cfg.jobs_executor, cfg.jobs_ray_address) == ("ray", "10.0.0.5:6379")
    with pytest.raises(ConfigFileError, match=r"jobs\.executor"):
        FeedmixConfig.from_dict({"jobs": {"executor": "spark"}})

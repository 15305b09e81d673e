"""``[retrieval]``: where the indexes live, whether to build at startup, how often to look for builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedmix.config import ConfigFileError, FeedmixConfig


def test_retrieval_section_loads_and_defaults_under_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FEEDMIX_INDEX_DIR", raising=False)
    default = FeedmixConfig(state_dir=str(tmp_path))
    assert default.index_dir == str(tmp_path.resolve() / "index")
    assert (default.index_build_on_start, default.index_build_kind, default.index_watch_interval_s) == (
        True,
        "auto",
        5.0,
    )
    monkeypatch.setenv("FEEDMIX_INDEX_DIR", str(tmp_path / "shared"))
    assert FeedmixConfig(state_dir=str(tmp_path)).index_dir == str(tmp_path / "shared")
    path = tmp_path / "feedmix.toml"
    path.write_text(
        '[retrieval]\nindex_dir = "/srv/idx"\nbuild_on_start = false\nbuild_kind = "faiss_hnsw"\n'
        "watch_interval_s = 0\n"
    )
    cfg = FeedmixConfig.from_toml(path)
    assert (cfg.index_dir, cfg.index_build_on_start, cfg.index_build_kind, cfg.index_watch_interval_s) == (
        "/srv/idx",
        False,
        "faiss_hnsw",
        0,
    )


@pytest.mark.parametrize(
    "text,match",
    [
        ("[retrieval]\nbuild_on_start = 'yes'\n", "expected true or false"),
        ("[retrieval]\nwatch_interval_s = -1\n", "watch_interval_s"),
        ("[retrieval]\nindex = 'x'\n", "unknown key retrieval.index"),
    ],
)
def test_bad_retrieval_settings_are_named(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "feedmix.toml"
    path.write_text(text)
    with pytest.raises(ConfigFileError, match=match):
        FeedmixConfig.from_toml(path)


def test_an_unknown_build_kind_fails_at_startup(tmp_path: Path) -> None:
    from feedmix.serving.runtime import Runtime

    cfg = FeedmixConfig(
        state_dir=str(tmp_path),
        users=10,
        event_log="memory://",
        index_dir=str(tmp_path / "i"),
        index_build_kind="hnsw",
    )
    with pytest.raises(ValueError, match="unknown index kind 'hnsw'"):
        Runtime.build(cfg)

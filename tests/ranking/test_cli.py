"""``feedmix models list | show | promote | rollback`` through argparse, registered as ``feedmix`` does."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from feedmix.ranking import cli as ranking_cli
from feedmix.ranking.model_registry import ModelRegistry
from tests.ranking.toy_model import flip_byte, register_toy


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="feedmix")
    sub = parser.add_subparsers(dest="command", required=True)
    ranking_cli.register(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models")


def test_list_shows_every_version_with_window_rows_metrics_and_the_promoted_marker(
    registry: ModelRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = register_toy(registry, 1.0), register_toy(registry, 2.0)
    registry.promote("ranker", v2.version)

    assert run(["models", "list", "--registry", str(registry.root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "version",
        "created",
        "(UTC)",
        "data",
        "window",
        "(UTC)",
        "rows",
        "code",
        "metrics",
    ]
    assert len(lines) == 3
    first, second = lines[1], lines[2]
    assert first.split()[0] == v1.version and second.split()[:2] == ["*", v2.version]
    assert "2023-11-14 22:13 .. 2023-11-15 22:13" in second
    assert "1,000" in second and "000000000000" in second
    assert second.endswith("click.auc=0.52")  # by default each head's AUC
    # aligned: the version column starts at the same offset on every line
    assert {line.index(v) for line, v in ((first, v1.version), (second, v2.version))} == {
        lines[0].index("version")
    }


@pytest.mark.parametrize(
    ("patterns", "shown"),
    [
        ("*", "click.auc=0.51  click.logloss=0.3"),
        ("*logloss", "click.logloss=0.3"),
        ("ndcg", "click.auc=0.51  click.logloss=0.3"),  # nothing matches: the first few
    ],
)
def test_list_metrics_picks_the_columns(
    registry: ModelRegistry, capsys: pytest.CaptureFixture[str], patterns: str, shown: str
) -> None:
    register_toy(registry, 1.0)
    assert run(["models", "list", "--registry", str(registry.root), "--metrics", patterns]) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith(shown)


def test_list_json_and_an_empty_registry(registry: ModelRegistry, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["models", "list", "--registry", str(registry.root)]) == 0
    out = capsys.readouterr()
    assert out.out == "" and "no versions of model 'ranker'" in out.err
    assert run(["models", "list", "--registry", str(registry.root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []

    v = register_toy(registry, 1.0, name="ads")
    assert run(["models", "list", "--name", "ads", "--registry", str(registry.root), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["version"] for r in rows] == [v.version]
    assert rows[0]["promoted"] is False and rows[0]["meta"]["data_window"]["rows"] == 1000


def test_promote_show_and_rollback(registry: ModelRegistry, capsys: pytest.CaptureFixture[str]) -> None:
    v1, v2 = register_toy(registry, 1.0), register_toy(registry, 2.0)
    reg = ["--registry", str(registry.root)]

    assert run(["models", "promote", v1.version, *reg]) == 0
    assert capsys.readouterr().out == f"model ranker: promoted {v1.version} (was none)\n"
    assert run(["models", "promote", v2.version, *reg]) == 0
    assert capsys.readouterr().out == f"model ranker: promoted {v2.version} (was {v1.version})\n"
    assert run(["models", "promote", v2.version, *reg]) == 0
    assert "already promoted" in capsys.readouterr().out

    assert run(["models", "show", v2.version, *reg]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == v2.version and shown["promoted"] is True
    assert shown["meta"]["features"] == list(v2.meta.features)
    assert set(shown["files"]) == {"weights.npy", "extra/notes.txt"}

    assert run(["models", "rollback", *reg]) == 0
    assert capsys.readouterr().out == f"model ranker: rolled back from {v2.version} to {v1.version}\n"
    assert registry.state("ranker").promoted == v1.version


def test_errors_exit_2_with_a_message_naming_the_problem(
    registry: ModelRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    reg = ["--registry", str(registry.root)]
    v = register_toy(registry, 1.0)

    assert run(["models", "rollback", *reg]) == 2
    assert capsys.readouterr().err == (
        "feedmix models rollback: model 'ranker': nothing is promoted, so there is nothing to roll back\n"
    )
    assert run(["models", "promote", v.version, *reg]) == 0
    capsys.readouterr()
    assert run(["models", "rollback", *reg]) == 2
    assert "no earlier promoted version to roll back to" in capsys.readouterr().err

    assert run(["models", "promote", "20200101T000000000Z-abcdef", *reg]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "feedmix models promote: model 'ranker' has no version '20200101T000000000Z-abcdef'"
    )
    assert run(["models", "show", "nope", *reg]) == 2
    assert "feedmix models show: model 'ranker' has no version 'nope'" in capsys.readouterr().err
    assert run(["models", "list", "--name", "bad/name", *reg]) == 2
    assert "invalid model name" in capsys.readouterr().err

    bad = register_toy(registry, 2.0)
    flip_byte(bad.path / "weights.npy")
    assert run(["models", "promote", bad.version, *reg]) == 2
    assert "weights.npy does not match its sha256 checksum" in capsys.readouterr().err
    assert registry.state("ranker").promoted == v.version


def test_default_registry_is_under_the_state_dir_of_the_environment_or_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FEEDMIX_STATE_DIR", str(tmp_path / "env-state"))
    v = register_toy(ModelRegistry(tmp_path / "env-state" / "models"), 1.0)
    assert run(["models", "list", "--json"]) == 0
    assert [r["version"] for r in json.loads(capsys.readouterr().out)] == [v.version]

    config = tmp_path / "feedmix.toml"
    config.write_text(f'[stores]\nstate_dir = "{tmp_path / "cfg-state"}"\n')
    w = register_toy(ModelRegistry(tmp_path / "cfg-state" / "models"), 2.0)
    assert run(["models", "promote", w.version, "--config", str(config)]) == 0
    assert f"promoted {w.version}" in capsys.readouterr().out

    config.write_text(f'[ranking]\nregistry_dir = "{tmp_path / "elsewhere"}"\n')
    x = register_toy(ModelRegistry(tmp_path / "elsewhere"), 3.0)
    assert run(["models", "show", x.version, "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == x.version

    config.write_text("[nonsense]\n")
    assert run(["models", "list", "--config", str(config)]) == 2
    assert "unknown section [nonsense]" in capsys.readouterr().err


def test_models_needs_a_subcommand() -> None:
    with pytest.raises(SystemExit) as exc:
        run(["models"])
    assert exc.value.code == 2

"""``cli.py`` is the table of contents: every package registers its own commands, each command is
registered by exactly one package, and every command answers ``--help``."""

from __future__ import annotations

import argparse

import pytest

from feedmix import cli

#: every command a user can type, by group (README, scripts and CI call these)
EXPECTED = {
    "feedmix.serving.cli": {"demo", "serve", "feed", "replay", "graphql-schema", "grpc-codegen"},
    "feedmix.simulation.cli": {"simulate"},
    "feedmix.ranking.cli": {
        "train",
        "models",
        "models list",
        "models show",
        "models promote",
        "models rollback",
    },
    "feedmix.bench.cli": {
        "bench",
        "bench serving",
        "bench load",
        "bench retrieval",
        "bench features",
        "bench ads",
        "bench ranking",
        "bench experiments",
        "bench signals",
        "bench api",
        "bench cache",
        "bench jobs",
        "bench shards",
        "bench scaling",
        "bench balancer",
        "bench failover",
        "bench ingest",
        "cost",
    },
    "feedmix.eval.cli": {
        "eval",
        "eval retrieval",
        "eval ranking",
        "eval loop",
        "eval signal-features",
        "eval discovery",
        "eval ope",
        "eval experiments",
    },
    "feedmix.ads.cli": {"ads", "ads simulate", "ads train-pctr"},
    "feedmix.experiments.cli": {
        "experiments",
        "experiments create",
        "experiments list",
        "experiments show",
        "experiments start",
        "experiments stop",
        "experiments launch",
        "experiments ramp",
        "experiments allocate",
        "experiments holdout",
        "experiments analyze",
    },
    "feedmix.shadow.cli": {"shadow", "shadow report", "shadow gate"},
    "feedmix.signals.cli": {
        "signals",
        "signals label",
        "signals eval",
        "signals judge",
        "signals judge-sample",
        "signals list",
        "signals show",
        "signals train",
        "signals promote",
        "signals drift",
        "signals backfill",
    },
    "feedmix.features.cli": {
        "features",
        "features list",
        "features training-set",
        "features aggregate-worker",
    },
    "feedmix.retrieval.cli": {"index", "index build", "index shard-serve"},
}
ALL = sorted(c for cmds in EXPECTED.values() for c in cmds)


def _commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], prefix: str = "") -> set[str]:
    out = set()
    for name, parser in sub.choices.items():
        out.add(prefix + name)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                out |= _commands(action, f"{prefix}{name} ")
    return out


def _registered_by(group: object) -> set[str]:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    group.register(sub)  # type: ignore[attr-defined]
    return _commands(sub)


def test_every_module_of_the_table_of_contents_has_register() -> None:
    for group in cli.COMMAND_GROUPS:
        assert group.__name__.endswith(".cli"), group.__name__
        assert callable(getattr(group, "register", None)), f"{group.__name__} has no register(subparsers)"


def test_the_parser_has_exactly_the_expected_commands() -> None:
    parser = cli.build_parser()
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert _commands(sub) == set(ALL)


def test_each_package_registers_exactly_its_commands() -> None:
    assert [g.__name__ for g in cli.COMMAND_GROUPS] == list(EXPECTED)
    for group in cli.COMMAND_GROUPS:
        assert _registered_by(group) == EXPECTED[group.__name__], group.__name__


def test_no_command_is_registered_twice() -> None:
    seen: dict[str, str] = {}
    for group in cli.COMMAND_GROUPS:
        for command in _registered_by(group):
            assert command not in seen, f"{command!r} registered by {seen.get(command)} and {group.__name__}"
            seen[command] = group.__name__


@pytest.mark.parametrize("command", ALL)
def test_every_command_answers_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main([*command.split(), "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.strip(), command


def test_building_the_parser_imports_no_heavy_library() -> None:
    """``feedmix --help`` must answer at once: the cli modules import their work inside the handlers."""
    import subprocess
    import sys

    code = (
        "import sys; from feedmix import cli; cli.build_parser();"
        "heavy = ('numpy', 'pyarrow', 'faiss', 'sqlalchemy', 'fastapi', 'httpx', 'lightgbm', 'tqdm');"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

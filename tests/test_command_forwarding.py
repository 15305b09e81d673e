"""The ``feedmix bench|eval <name>`` commands hand their options to the benchmark's own parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedmix import cli


def test_bench_retrieval_runs_through_the_cli_with_its_own_options(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    argv = ["bench", "retrieval", "--data", "none", "--synthetic", "3000", "--subset", "3000"]
    argv += ["--dims", "16", "--queries", "20", "--k", "10", "--kinds", "exact,faiss_ivf_fp16"]
    argv += ["--kinds-full", "faiss_ivf_fp16", "--no-filtered", "--no-progress", "--out", str(out)]
    assert cli.main(argv) == 0
    report = json.loads(out.read_text())
    kind = report["sets"]["synthetic_3k"]["kinds"]["faiss_ivf_fp16"]
    assert report["k"] == 10 and kind["n"] == 3000
    # the sweep reaches exact recall at its widest probe on a set this small
    assert max(p["mixture_draws"]["recall"] for p in kind["sweep"]) == pytest.approx(1.0)


def test_forwarded_help_is_the_benchmarks_own(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["eval", "retrieval", "--help"])
    assert exc.value.code == 0
    assert "feedmix eval retrieval" in capsys.readouterr().out


def test_unknown_options_of_a_normal_command_are_still_refused() -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["feed", "u0001", "--no-such-flag"])
    assert exc.value.code == 2

"""``feedmix experiments``: the commands against the service's API (an in-process client), their
output, and their exit codes on refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from feedmix import cli
from feedmix.experiments.cli import parse_variant
from feedmix.serving.runtime import Runtime
from tests.experiments.conftest import KEY, wait_for_exposures

BASE = "http://feedmix.test"


@pytest.fixture
def routed(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """``httpx.request`` from the CLI lands on the in-process service."""

    def request(method: str, url: str, **kw: Any) -> httpx.Response:
        kw.pop("timeout", None)  # the in-process client has no network to time out
        return client.request(method, url.removeprefix(BASE), **kw)

    monkeypatch.setattr(httpx, "request", request)


def _cli(*args: str) -> int:
    return cli.main(["experiments", "--url", BASE, "--key", KEY, *args])


def test_parse_variant() -> None:
    assert parse_variant("control") == {"name": "control", "weight": 1.0, "overrides": {}}
    assert parse_variant("t@3:ranker.w_hide=2.5,trending.enabled=false,x=abc") == {
        "name": "t",
        "weight": 3.0,
        "overrides": {"ranker.w_hide": 2.5, "trending.enabled": False, "x": "abc"},
    }
    with pytest.raises(ValueError, match="param=value"):
        parse_variant("t:oops")


def test_the_lifecycle_from_the_command_line(
    routed: None, runtime: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert runtime.experiments is not None
    rc = _cli(
        "create", "--id", "cli-fresh", "--hypothesis", "fresher posts engage more", "--layer", "sources",
        "--allocation", "0.5", "--coverage", "0.1", "--variant", "control",
        "--variant", "more_fresh:fresh.limit=200", "--guardrail", "hides_per_user",
    )  # fmt: skip
    assert rc == 0 and json.loads(capsys.readouterr().out)["status"] == "draft"
    assert _cli("start", "cli-fresh") == 0
    assert json.loads(capsys.readouterr().out)["status"] == "running"
    assert _cli("ramp", "cli-fresh", "--coverage", "0.5") == 0
    assert json.loads(capsys.readouterr().out)["coverage"] == 0.5
    assert _cli("list", "--status", "running") == 0
    out = capsys.readouterr().out
    assert "cli-fresh" in out and "running" in out

    # a refusal names the field and exits 2, and nothing changes
    assert _cli("allocate", "cli-fresh", "--allocation", "0.9") == 2
    assert "bucket_version" in capsys.readouterr().err
    assert _cli("allocate", "cli-fresh", "--allocation", "0.4", "--bucket-version", "2") == 0
    assert json.loads(capsys.readouterr().out)["bucket_version"] == 2
    assert _cli("show", "nope") == 2
    assert "unknown experiment" in capsys.readouterr().err

    runtime.experiments.assigner.refresh()
    served = [runtime.feeds.feed("home", f"u{i:04d}", limit=5) for i in range(1, 80)]
    exposed = sum(1 for body in served if body["experiments"])
    assert exposed > 0
    assert len(wait_for_exposures(runtime, "cli-fresh", exposed)) == exposed
    plot = tmp_path / "analysis.png"
    assert _cli("analyze", "cli-fresh", "--json", str(tmp_path / "a.json"), "--plot", str(plot)) == 0
    out = capsys.readouterr().out
    assert "engagement_per_user" in out and "exposed" in out
    assert json.loads((tmp_path / "a.json").read_text())["experiment"]["experiment_id"] == "cli-fresh"
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert _cli("stop", "cli-fresh") == 0


def test_create_from_a_file_and_a_bad_file(
    routed: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {
        "experiment_id": "from-file",
        "owner": "me",
        "hypothesis": "h",
        "surfaces": ["community"],
        "variants": [{"name": "c"}, {"name": "t", "overrides": {"community_fresh.limit": 50}}],
    }
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(spec))
    assert _cli("create", "--file", str(path)) == 0
    spec["variants"] = [{"name": "c"}, {"name": "t", "overrides": {"community_fresh.limit": -5}}]
    spec["experiment_id"] = "bad-file"
    path.write_text(json.dumps(spec))
    capsys.readouterr()
    assert _cli("create", "--file", str(path)) == 2
    assert "variants[1].overrides.community_fresh.limit" in capsys.readouterr().err


def test_an_unreachable_server_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["experiments", "--url", "http://127.0.0.1:9", "--key", KEY, "list"]) == 3
    assert "cannot reach" in capsys.readouterr().err

import json
from pathlib import Path

import pytest

from feedmix.cli import main
from feedmix.signals import registry
from feedmix.signals.codebook import codebook_digest


def test_definitions_were_written_against_the_codebook_in_force() -> None:
    # the codebook or its additions changed: give every affected signal a new version and the new digest
    assert {d.codebook_digest for d in registry.DEFINITIONS} == {codebook_digest()}


def test_every_signal_of_the_issue_is_defined_once_with_an_owner_and_consumers() -> None:
    names = [d.name for d in registry.DEFINITIONS]
    assert sorted(names) == sorted(
        ["intent", "sentiment", "commercial", "products", "category", "brand_safety"]
    )
    assert all(d.owner and d.consumers for d in registry.DEFINITIONS)


def test_a_bad_definition_is_refused() -> None:
    with pytest.raises(ValueError, match="semver"):
        registry.SignalDefinition("x", "1.0", "production", "o", "d", (), ("c",))
    with pytest.raises(ValueError, match="status"):
        registry.SignalDefinition("x", "1.0.0", "live", "o", "d", (), ("c",))


def test_show_puts_measurements_beside_the_slos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDMIX_STATE_DIR", str(tmp_path))
    eval_report = {
        "dev_set_digest": "d1",
        "tiers": {"student": {"high": {"intent": {"macro_f1": 0.72}, "commercial": {"f1": 0.80}}}},
    }
    registry.save_report(tmp_path, "eval-test", eval_report)
    registry.save_report(
        tmp_path,
        "bench",
        {"tiers": {"student": {"per_post_unbatched": {"p99_ms": 9.0}, "usd_per_1k_posts": 1e-6}}},
    )
    registry.save_report(tmp_path, "backfill-student", {"posts": 1000, "posts_labelled_total": 995})
    intent = registry.describe("intent", tmp_path)
    assert intent["measured"]["quality"] == 0.72 and intent["slo_status"]["quality"].startswith("ok")
    assert intent["slo_status"]["latency_p99_ms"].startswith("BREACHED")
    assert intent["slo_status"]["coverage"].startswith("ok")
    assert registry.describe("commercial", tmp_path)["slo_status"]["quality"].startswith("BREACHED")
    # nothing trained in this state folder: the student packaged with the code produces
    assert intent["producer"]["model_version"].startswith("student-")


def test_list_and_show_from_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("FEEDMIX_STATE_DIR", str(tmp_path))
    assert main(["signals", "list"]) == 0
    out = capsys.readouterr().out
    assert "brand_safety" in out and "1.0.0" in out
    assert main(["signals", "show", "category"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "category"
    assert main(["signals", "show", "mood"]) == 2

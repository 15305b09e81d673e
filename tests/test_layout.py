"""The tests tree mirrors the source tree: each test folder is named for the package (or the module)
of ``src/feedmix`` it tests, so the tests of a file are found where its path says."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent
SRC = ROOT.parent / "src" / "feedmix"
#: folders that test across packages: the server as a separate process, and the ops/ rules
NOT_MIRRORED = {"e2e", "ops"}


def test_every_test_folder_names_a_source_package_or_module() -> None:
    folders = [p for p in ROOT.rglob("*") if p.is_dir() and p.name != "__pycache__"]
    assert len(folders) >= 15
    strays = []
    for folder in folders:
        rel = folder.relative_to(ROOT)
        if rel.parts[0] in NOT_MIRRORED:
            continue
        if not (SRC / rel).is_dir() and not (SRC / rel).with_suffix(".py").is_file():
            strays.append(str(rel))
    assert not strays, f"test folders with no source package or module of that name: {strays}"

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


#: the floors of the house as the README draws them, top first: a package may import its own floor's
#: modules of itself and anything on a lower floor, never a package beside it or above it
FLOORS: list[set[str]] = [
    {"cli"},
    {"bench"},
    {"eval"},
    {"serving"},
    {"products", "components"},
    {"ranking", "ads"},
    {"signals"},
    {"users", "retrieval", "features", "experiments", "shadow"},
    {"testing", "simulation", "config", "events"},
    {"core", "corpus", "console", "command_forwarding", "stores", "operator_key", "sql", "jobs"},
]


def _imports(path: Path) -> set[str]:
    """The top-level feedmix packages a module imports (``feedmix.x.y`` -> ``x``), at any depth."""
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found |= {n.split(".")[1] for n in names if n.startswith("feedmix.") and n.count(".") >= 1}
    return found


def test_imports_only_run_down_the_floors_and_core_imports_nothing_else() -> None:
    floor_of = {name: i for i, floor in enumerate(FLOORS) for name in floor}
    tops = {
        p.stem if p.is_file() else p.name
        for p in SRC.iterdir()
        if p.name not in ("__init__.py", "__pycache__")
    }
    tops = {t for t in tops if (SRC / t).is_dir() or (SRC / f"{t}.py").is_file()} - {"demo_data"}
    assert tops <= set(floor_of), f"packages missing from the floors: {sorted(tops - set(floor_of))}"
    upward = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        own = rel.parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        for target in _imports(path) - {own}:
            if floor_of.get(target, -1) <= floor_of[own]:
                upward.append(f"{rel} imports feedmix.{target}")
    assert not upward, "imports that run up or across the floors:\n" + "\n".join(sorted(upward))

"""Hot swap: searches never mix versions, bad builds are refused while the old index keeps serving."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from feedmix.retrieval.ann import IndexHandle, build_index
from feedmix.retrieval.ann.index_handle import IncompatibleIndex
from feedmix.retrieval.ann.manifest import MANIFEST_FILE, describe_files, write_manifest
from feedmix.retrieval.ann.row_index import RowIndex

DIM = 16


def unit(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def publish(out: Path, index: RowIndex, version: str) -> Path:
    """What a build does: files into a new version directory, then the manifest last."""
    index.save(out / f"v{version}" / "index")
    write_manifest(
        out,
        {
            "version": version,
            "kind": index.kind,
            "dim": index.dim,
            "count": len(index),
            "index_dir": f"v{version}/index",
            "files": describe_files(out, [f"v{version}/index"]),
        },
    )
    return out / f"v{version}" / "index"


def test_concurrent_searches_during_swaps_each_see_exactly_one_version() -> None:
    x = unit(2000)
    versions = {f"v{i}": build_index(np.arange(2000) + i * 10_000, x, "exact") for i in range(3)}
    handle = IndexHandle(versions["v0"], "v0")
    errors: list[BaseException] = []
    seen: list[str] = []
    stop = threading.Event()

    def reader(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            while not stop.is_set():
                ids, _, version = handle.search_versioned(x[rng.integers(0, 2000, 4)], 20)
                offset = int(version[1:]) * 10_000
                # every id of the answer comes from the version that says it answered
                assert np.all((ids >= offset) & (ids < offset + 2000)), version
                seen.append(version)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for i in range(300):
        name = f"v{i % 3}"
        handle.swap(versions[name], name)
        time.sleep(0.0005)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert len(seen) > 100 and set(seen) == set(versions)


def test_swap_refuses_another_dimension_and_keeps_serving() -> None:
    handle = IndexHandle(build_index(np.arange(50), unit(50), "exact"), "a")
    with pytest.raises(IncompatibleIndex):
        handle.swap(build_index(np.arange(50), unit(50, dim=8), "exact"), "b")
    assert handle.version == "a" and handle.search(unit(1), 5)[0].shape == (1, 5)


@pytest.fixture
def served(tmp_path: Path) -> tuple[Path, IndexHandle]:
    publish(tmp_path, build_index(np.arange(300), unit(300), "usearch_hnsw", threads=1), "0001")
    return tmp_path, IndexHandle.open(tmp_path)


def test_reload_picks_up_a_new_build_once(served: tuple[Path, IndexHandle]) -> None:
    out, handle = served
    assert handle.version == "0001" and handle.reload_if_changed(out).status == "unchanged"
    publish(out, build_index(np.arange(300) + 5000, unit(300, seed=1), "faiss_hnsw"), "0002")
    outcome = handle.reload_if_changed(out)
    assert (outcome.status, outcome.version, handle.version) == ("swapped", "0002", "0002")
    assert handle.kind == "faiss_hnsw" and handle.search(unit(1), 3)[0].min() >= 5000
    assert handle.reload_if_changed(out).status == "unchanged"


def corrupt_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("flip", "checksum"),
        ("truncate", "bytes"),
        ("delete", "missing"),
        ("dim", "dim"),
        ("manifest", "cannot read"),
        ("unreadable", "Error"),
    ],
)
def test_a_bad_build_is_refused_and_the_old_index_keeps_serving(
    served: tuple[Path, IndexHandle], damage: str, reason: str
) -> None:
    out, handle = served
    before = handle.search(unit(2), 10)
    if damage == "dim":
        publish(out, build_index(np.arange(300), unit(300, dim=8), "exact"), "0002")
    else:
        index_dir = publish(
            out, build_index(np.arange(300), unit(300, seed=2), "usearch_hnsw", threads=1), "0002"
        )
        library = index_dir / "index.usearch"
        if damage == "flip":
            corrupt_bytes(library)
        elif damage == "truncate":
            truncate(library)
        elif damage == "delete":
            library.unlink()
        elif damage == "manifest":
            (out / MANIFEST_FILE).write_text("{not json")
        elif damage == "unreadable":
            # a file the library cannot read, with a manifest that vouches for it
            library.write_bytes(b"not an index at all")
            manifest = json.loads((out / MANIFEST_FILE).read_text())
            manifest.pop("format")
            manifest["files"] = describe_files(out, ["v0002/index"])
            write_manifest(out, manifest)
    outcome = handle.reload_if_changed(out)
    assert outcome.status == "refused" and reason in outcome.reason, outcome
    assert handle.version == "0001"
    after = handle.search(unit(2), 10)
    np.testing.assert_array_equal(after[0], before[0])
    # refused once, refused again without re-reading the files
    assert handle.reload_if_changed(out).status == "refused"


def test_watcher_reloads_in_the_background(served: tuple[Path, IndexHandle]) -> None:
    out, handle = served
    handle.start_watching(out, interval_s=0.02)
    try:
        publish(out, build_index(np.arange(300), unit(300, seed=3), "exact"), "0003")
        deadline = time.monotonic() + 10
        while handle.version != "0003" and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        handle.stop_watching()
    assert handle.version == "0003"

"""Save, load and memory-map: identical answers, and the mapped load really is a mapping."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from feedmix.retrieval.ann import build_index, load_index
from feedmix.retrieval.ann.row_index import RowIndex

from .conftest import KINDS, SMALL_PARAMS, Clustered

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self")


def mapped_files() -> set[str]:
    return {line.split(maxsplit=5)[5].strip() for line in open("/proc/self/maps") if len(line.split()) >= 6}


def anon_rss() -> int:
    m = re.search(r"^RssAnon:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    assert m is not None
    return int(m.group(1)) * 1024


@pytest.mark.parametrize("kind", [*KINDS, "exact"])
@pytest.mark.parametrize("mmap", [True, False])
def test_round_trip_gives_identical_results(
    kind: str, mmap: bool, tmp_path: Path, clustered: Clustered, built: dict[str, RowIndex]
) -> None:
    index = built[kind]
    index.save(tmp_path / "idx")
    loaded = load_index(tmp_path / "idx", mmap=mmap)
    assert (loaded.kind, loaded.dim, len(loaded)) == (index.kind, index.dim, len(index))
    assert loaded.params == index.params
    want_ids, want_scores = index.search(clustered.queries, 20)
    got_ids, got_scores = loaded.search(clustered.queries, 20)
    np.testing.assert_array_equal(got_ids, want_ids)
    np.testing.assert_array_equal(got_scores, want_scores)


@linux_only
@pytest.mark.parametrize("kind", [*KINDS, "exact"])
def test_mmap_load_maps_the_index_file(kind: str, tmp_path: Path, built: dict[str, RowIndex]) -> None:
    built[kind].save(tmp_path / "idx")
    library_file = next(p for p in (tmp_path / "idx").iterdir() if p.name.startswith("index."))
    index = load_index(tmp_path / "idx", mmap=True)
    maps = mapped_files()
    assert str(library_file) in maps
    assert str(tmp_path / "idx" / "ids.npy") in maps
    del index
    read = load_index(tmp_path / "idx", mmap=False)
    assert str(library_file) not in mapped_files()
    del read


@linux_only
def test_mmap_load_does_not_copy_the_index_onto_the_heap(tmp_path: Path) -> None:
    """A 30k x 64 usearch index (about 10 MiB): a mapped load adds far less than that to the heap."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30_000, 64)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    build_index(np.arange(30_000), x, "usearch_hnsw", {"ef_construction": 16}, threads=2).save(tmp_path / "u")
    size = sum(p.stat().st_size for p in (tmp_path / "u").iterdir())
    before = anon_rss()
    mapped = load_index(tmp_path / "u", mmap=True)
    mapped.search(x[:50], 10)
    assert anon_rss() - before < size / 3
    before = anon_rss()
    copied = load_index(tmp_path / "u", mmap=False)  # the control: a read does copy it
    assert anon_rss() - before > size / 2
    del mapped, copied


def test_load_refuses_a_directory_that_is_not_an_index(tmp_path: Path, built: dict[str, RowIndex]) -> None:
    with pytest.raises(FileNotFoundError):
        load_index(tmp_path)
    built["exact"].save(tmp_path / "idx")
    np.save(tmp_path / "idx" / "ids.npy", np.arange(3))
    with pytest.raises(ValueError, match="int64 ids"):
        load_index(tmp_path / "idx")


def test_saved_params_record_what_auto_resolved_to(tmp_path: Path, clustered: Clustered) -> None:
    index = build_index(clustered.ids, clustered.vectors, "faiss_ivf", {"nprobe": 4})
    assert index.params["nlist"] == round(8 * np.sqrt(len(clustered.ids)))
    assert index.params["nprobe"] == 4
    auto = build_index(clustered.ids, clustered.vectors, "faiss_ivf", {"nlist": 160})
    assert auto.params["nprobe"] == 2
    assert SMALL_PARAMS["faiss_ivf"]["nlist"] != index.params["nlist"]

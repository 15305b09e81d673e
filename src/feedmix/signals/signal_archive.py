"""The offline store of signal values: every value a tier's model version produced, kept per version so a
new version is computed beside the current one and compared before it is promoted, and so a student can
be distilled from a teacher's full backfill.

Layout: ``<state_dir>/signals/offline/<tier>/<model version>/part-<shard>.parquet``, one file per shard
of ``shard_size`` corpus posts, written atomically. A shard that exists is done: a backfill that stops
resumes at the first missing shard, and running it again changes nothing (idempotent).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from feedmix.features.offline.parquet_io import write_parquet_atomic
from feedmix.signals.codebook import BRAND_SAFETY, CATEGORIES, INTENTS, SENTIMENTS
from feedmix.signals.post_signals import PostSignals

_MATRICES = {
    "intent_probs": len(INTENTS),
    "sentiment_probs": len(SENTIMENTS),
    "category_probs": len(CATEGORIES),
    "safety_probs": len(BRAND_SAFETY),
}


class SignalArchive:
    def __init__(self, root: Path, tier: str, model_version: str) -> None:
        self.dir = Path(root) / "signals" / "offline" / tier / model_version
        self.tier = tier
        self.model_version = model_version

    def open_run(self, shard_size: int, posts: int, corpus_digest: str) -> None:
        """Record (or check) what the shards cut: a resumed run must cut the same corpus the same way,
        or a shard written under one layout would be taken for a shard of another."""
        manifest = self.dir / "archive.json"
        want = {"shard_size": shard_size, "posts": posts, "corpus_digest": corpus_digest}
        if manifest.is_file():
            have = json.loads(manifest.read_text())
            if have != want:
                raise ValueError(
                    f"{self.dir} holds shards of another run ({have}); this run is {want}:"
                    " use the same --shard-size and corpus, or remove the folder"
                )
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps(want) + "\n")

    def shard_path(self, shard: int) -> Path:
        return self.dir / f"part-{shard:05d}.parquet"

    def done(self, shard: int) -> bool:
        return self.shard_path(shard).is_file()

    def online_done(self, shard: int, store: str) -> bool:
        """Whether this shard's values reached the online store ``store`` (a marker beside the shard)."""
        return self._online_marker(shard, store).is_file()

    def mark_online(self, shard: int, store: str) -> None:
        self._online_marker(shard, store).write_text("")

    def _online_marker(self, shard: int, store: str) -> Path:
        key = hashlib.sha256(store.encode()).hexdigest()[:12]
        return self.dir / f"part-{shard:05d}.online-{key}"

    def shards(self) -> list[int]:
        return sorted(int(p.stem.split("-")[1]) for p in self.dir.glob("part-*.parquet"))

    def rows(self) -> int:
        """Posts with a value in this archive (from the shards' Parquet footers)."""
        return sum(pq.ParquetFile(self.shard_path(s)).metadata.num_rows for s in self.shards())

    def write(self, shard: int, sig: PostSignals, labelled_at: float | None = None) -> Path:
        cols: dict[str, pa.Array] = {"id": pa.array(sig.ids, type=pa.string())}
        for name, width in _MATRICES.items():
            m = getattr(sig, name).astype(np.float32)
            cols[name] = pa.FixedSizeListArray.from_arrays(pa.array(m.reshape(-1)), width)
        cols["commercial_prob"] = pa.array(sig.commercial_prob.astype(np.float32))
        cols["safety_reason"] = pa.array(sig.safety_reason, type=pa.string())
        cols["gate"] = pa.array(sig.gate, type=pa.string())
        offsets = pa.array(sig.product_offsets, type=pa.int32())
        cols["product_text"] = pa.ListArray.from_arrays(offsets, pa.array(sig.product_text, type=pa.string()))
        cols["product_brand"] = pa.ListArray.from_arrays(
            offsets, pa.array(sig.product_brand, type=pa.string())
        )
        cols["product_start"] = pa.ListArray.from_arrays(
            offsets, pa.array(sig.product_start, type=pa.int32())
        )
        cols["product_end"] = pa.ListArray.from_arrays(offsets, pa.array(sig.product_end, type=pa.int32()))
        cols["model_version"] = pa.array([sig.model_version] * len(sig), type=pa.string())
        cols["labelled_at"] = pa.array(np.full(len(sig), labelled_at or time.time()), type=pa.float64())
        self.dir.mkdir(parents=True, exist_ok=True)
        return write_parquet_atomic(pa.table(cols), self.shard_path(shard))

    def read(self, shards: list[int] | None = None) -> PostSignals:
        """The shards (default: all written), concatenated in shard order."""
        chosen = self.shards() if shards is None else shards
        if not chosen:
            raise FileNotFoundError(f"no signal values under {self.dir}")
        table = pa.concat_tables([pq.read_table(self.shard_path(s)) for s in chosen])
        return from_table(table)


def _ints(col: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(col.combine_chunks().flatten().to_numpy(zero_copy_only=False), dtype=np.int32)


def from_table(table: pa.Table) -> PostSignals:
    def matrix(name: str) -> np.ndarray:
        col = table[name].combine_chunks()
        flat = col.flatten().to_numpy(zero_copy_only=False)
        return np.asarray(flat, dtype=np.float32).reshape(len(table), -1)

    texts = table["product_text"].combine_chunks()
    offsets = np.asarray(texts.offsets.to_numpy(zero_copy_only=False), dtype=np.int32)
    versions = table["model_version"].to_pylist()
    return PostSignals(
        ids=[str(x) for x in table["id"].to_pylist()],
        intent_probs=matrix("intent_probs"),
        sentiment_probs=matrix("sentiment_probs"),
        commercial_prob=np.asarray(table["commercial_prob"].to_numpy(zero_copy_only=False), dtype=np.float32),
        category_probs=matrix("category_probs"),
        safety_probs=matrix("safety_probs"),
        safety_reason=table["safety_reason"].to_pylist(),
        gate=[str(x) for x in table["gate"].to_pylist()],
        model_version=str(versions[0]) if versions else "",
        product_offsets=offsets - offsets[0],
        product_start=_ints(table["product_start"]),
        product_end=_ints(table["product_end"]),
        product_text=[str(x) for x in texts.flatten().to_pylist()],
        product_brand=table["product_brand"].combine_chunks().flatten().to_pylist(),
    )


def corpus_digest(ids: list[str]) -> str:
    """A short digest of the posts' ids in order: two runs over the same corpus slice share it."""
    h = hashlib.sha256()
    for pid in ids:
        h.update(pid.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]

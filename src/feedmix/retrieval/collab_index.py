"""The collaborative index: implicit-ALS factors learned from the event log, served by inner product.

Training: the feed's own events (:func:`~feedmix.retrieval.embeddings.interactions.
interactions_from_event_log`) with the weights of ``EVENT_WEIGHTS`` (click 1, upvote 2, downvote
and hide -1, impression 0, summed per user and post, then clipped at 0; the event schema has no
comment event), aggregated into a confidence matrix and factorised by
:func:`~feedmix.retrieval.embeddings.als_trainer.train_als`.

A build is a version directory like the content index's:

* ``index/``: the item (post) factors in an ANN index built with ``metric="inner_product"`` (ALS
  scores by dot product; :mod:`feedmix.retrieval.ann.mips`);
* ``users/user_ids.npy`` (sorted, fixed-width unicode) and ``users/user_factors.npy`` (float32, same
  order): a user's query vector is one binary search over the memory-mapped ids and one row read;
* ``model/meta.json``: trainer, params and the data window.

A user the model has not seen has no vector (and gets no collaborative candidates); folding new users
in from their first events (``als_fold_in``) is the natural next step.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from feedmix.events.event_log import EventLog
from feedmix.retrieval.ann.index_handle import IncompatibleIndex
from feedmix.retrieval.ann.manifest import (
    Manifest,
    describe_files,
    prune_versions,
    verify_files,
    write_manifest,
)
from feedmix.retrieval.ann.post_index_build import new_version
from feedmix.retrieval.ann.protocol import AnnIndex, DelegatingIndex
from feedmix.retrieval.ann.registry import build_index, load_index, resolve_kind
from feedmix.retrieval.embeddings.als_trainer import ALSParams, train_als
from feedmix.retrieval.embeddings.interactions import build_matrix, interactions_from_event_log

USERS_DIR = "users"
USER_IDS_FILE = "user_ids.npy"
USER_FACTORS_FILE = "user_factors.npy"
MODEL_DIR = "model"

#: below this many positive (user, post) pairs a factorisation learns noise; the build is skipped
MIN_POSITIVE_PAIRS = 200


class NotEnoughInteractions(ValueError):
    """The event log is too thin to train on; nothing was published."""


def build_collab_index(
    events: EventLog | str,
    out_dir: str | os.PathLike[str],
    kind: str,
    params: Mapping[str, Any] | None = None,
    *,
    als: ALSParams | None = None,
    min_positive_pairs: int = MIN_POSITIVE_PAIRS,
    keep_versions: int = 3,
    progress: bool = True,
) -> dict[str, Any]:
    """Train ALS on the log, index the item factors, publish; returns the manifest.

    Raises :class:`NotEnoughInteractions` (publishing nothing) when the log has fewer than
    ``min_positive_pairs`` positive pairs. ``kind`` may be ``"auto"`` (see
    :func:`feedmix.retrieval.ann.registry.resolve_kind`).
    """

    als = als or ALSParams()
    out = Path(out_dir)
    version = new_version()
    staging = out / f".staging-v{version}"
    final = out / f"v{version}"
    timings: dict[str, float] = {}
    steps = tqdm(total=4, desc="collab build", unit="step", disable=not progress)
    try:
        steps.set_postfix_str("read events")
        t0 = time.perf_counter()
        read = interactions_from_event_log(events)
        matrix = build_matrix(read.interactions)
        pairs = int(matrix.confidence.nnz)
        timings["events_s"] = time.perf_counter() - t0
        if pairs < min_positive_pairs:
            raise NotEnoughInteractions(
                f"{pairs} positive (user, post) pairs in {len(read.interactions)} events;"
                f" need at least {min_positive_pairs}"
            )
        steps.update()

        steps.set_postfix_str("train ALS")
        t0 = time.perf_counter()
        emb = train_als(matrix, als)
        timings["train_s"] = time.perf_counter() - t0
        steps.update()

        resolved = resolve_kind(kind, len(emb.item_ids))
        steps.set_postfix_str(f"{resolved} index")
        t0 = time.perf_counter()
        item_ids = np.asarray(emb.item_ids, dtype=np.int64)
        index = build_index(
            item_ids, emb.item_vectors, resolved, params, threads=als.num_threads, metric="inner_product"
        )
        timings["index_s"] = time.perf_counter() - t0
        steps.update()

        steps.set_postfix_str("save")
        t0 = time.perf_counter()
        out.mkdir(parents=True, exist_ok=True)
        index.save(staging / "index")
        users = staging / USERS_DIR
        users.mkdir(parents=True)
        user_ids = np.asarray(emb.user_ids).astype(np.str_)
        np.save(users / USER_IDS_FILE, user_ids, allow_pickle=False)
        np.save(users / USER_FACTORS_FILE, np.ascontiguousarray(emb.user_vectors, dtype=np.float32))
        (staging / MODEL_DIR).mkdir()
        (staging / MODEL_DIR / "meta.json").write_text(json.dumps(emb.meta, indent=2, sort_keys=True))
        os.replace(staging, final)
        files = describe_files(out, [f"{final.name}/{d}" for d in ("index", USERS_DIR, MODEL_DIR)])
        timings["save_s"] = time.perf_counter() - t0
        manifest: dict[str, Any] = {
            "version": version,
            "role": "collab",
            "kind": index.kind,
            "metric": "inner_product",
            "dim": index.dim,
            "count": len(index),
            "users": int(user_ids.shape[0]),
            "params": index.params,
            "als": asdict(als),
            "data": emb.meta.get("data", {}),
            "index_dir": f"{final.name}/index",
            f"{USERS_DIR}_dir": f"{final.name}/{USERS_DIR}",
            f"{MODEL_DIR}_dir": f"{final.name}/{MODEL_DIR}",
            "built_at": time.time(),
            "timings": {k: round(v, 3) for k, v in timings.items()},
            "files": files,
        }
        write_manifest(out, manifest)
        steps.update()
    finally:
        steps.close()
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    prune_versions(out, keep=keep_versions, current=version)
    return {"format": 1, **manifest}


class CollabIndex(DelegatingIndex):
    """One collaborative build: item factors to search (raw inner product) and the user factors."""

    def __init__(
        self, index: AnnIndex, user_ids: npt.NDArray[np.str_], user_factors: npt.NDArray[np.float32]
    ):
        if user_factors.ndim != 2 or user_factors.shape != (user_ids.shape[0], index.dim):
            raise IncompatibleIndex(
                f"user factors have shape {user_factors.shape}, expected ({user_ids.shape[0]}, {index.dim})"
            )
        self.index = index
        self.user_ids = user_ids
        self.user_factors = user_factors

    def user_vector(self, user_id: str) -> npt.NDArray[np.float32] | None:
        """The user's factors, or None for a user the model was not trained on."""
        ids = self.user_ids
        n = ids.shape[0]
        if n == 0 or len(user_id) > ids.dtype.itemsize // 4:
            return None
        pos = int(np.searchsorted(ids, user_id))
        if pos >= n or str(ids[pos]) != user_id:
            return None
        vec = np.array(self.user_factors[pos], dtype=np.float32)
        return vec if np.any(vec != 0) else None


def load_collab_index(manifest: Manifest) -> CollabIndex:
    """The :class:`~feedmix.retrieval.ann.index_handle.IndexHandle` loader of collaborative builds."""
    users_dir = manifest.raw.get(f"{USERS_DIR}_dir")
    if not isinstance(users_dir, str):
        raise IncompatibleIndex(f"build {manifest.version} has no {USERS_DIR}/ data (not a collab build)")
    verify_files(manifest, under=users_dir)
    u = manifest.directory / users_dir
    user_ids = np.load(u / USER_IDS_FILE, mmap_mode="r", allow_pickle=False)
    if user_ids.dtype.kind != "U":
        raise IncompatibleIndex(f"{u / USER_IDS_FILE} does not hold user id strings")
    return CollabIndex(
        load_index(manifest.index_path, mmap=True),
        user_ids,
        np.load(u / USER_FACTORS_FILE, mmap_mode="r", allow_pickle=False),
    )

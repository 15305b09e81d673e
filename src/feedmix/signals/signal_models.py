"""Trained tiers on disk: ``<state_dir>/signals/models/<tier>/<version>/`` holds ``model.json`` (what it is
and where it came from: training data, teacher, judge and prompt digests, codebook and labelled-set
digests, its scores), ``heads.npz`` (plain arrays) and ``names.tsv`` (product names mined for it). A tier
loads its newest version unless one is named."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from feedmix.signals.labeler import Labeler
from feedmix.signals.lexicons.brand_gazetteer import GAZETTEER_PATH, BrandGazetteer
from feedmix.signals.linear_heads import LinearHeads

TIER_NUMBERS = {"teacher": 1, "student": 2}
#: models shipped inside the package (a small student, so a fresh clone labels with the production tier);
#: a model trained into the state folder always wins over them
PACKAGED_MODELS = Path(__file__).resolve().parent / "models"


def state_dir() -> Path:
    return Path(os.environ.get("FEEDMIX_STATE_DIR", "var"))


def models_root(root: Path | None = None) -> Path:
    return (root or state_dir()) / "signals" / "models"


def save_model(
    tier: str,
    version: str,
    heads: LinearHeads,
    names: list[tuple[str, str, str]],
    meta: dict[str, Any],
    root: Path | None = None,
    packaged: bool = False,
) -> Path:
    """Written beside its final place and renamed into it, so a reader never sees half a model.
    ``packaged``: into the package (``PACKAGED_MODELS``), weights as float16, to ship with the code."""
    final = (PACKAGED_MODELS if packaged else models_root(root)) / tier / version
    tmp = final.with_name(f".{version}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    heads.save(tmp / "heads.npz", np.float16 if packaged else np.float32)
    with open(tmp / "names.tsv", "w", encoding="utf-8") as f:
        f.write("surface\tbrand\tcategory\n")
        for row in names:
            f.write("\t".join(row) + "\n")
    (tmp / "model.json").write_text(json.dumps(dict(meta, tier=tier, version=version), indent=1) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def promoted_version(tier: str, root: Path | None = None) -> str | None:
    """The version ``feedmix signals promote`` made current for ``tier`` (None: never promoted)."""
    path = models_root(root) / tier / "PROMOTED"
    return path.read_text().strip() if path.is_file() else None


def set_promoted(tier: str, version: str, root: Path | None = None) -> None:
    path = models_root(root) / tier / "PROMOTED"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(version + "\n")
    tmp.replace(path)


def _versions(base: Path) -> list[Path]:
    return sorted(p for p in base.glob("*") if (p / "model.json").is_file()) if base.is_dir() else []


def model_dir(tier: str, version: str | None = None, root: Path | None = None) -> Path:
    """The named version, else the promoted one, else the newest trained here, else the packaged one."""
    base = models_root(root) / tier
    version = version or promoted_version(tier, root)
    if version is not None:
        for where in (base, PACKAGED_MODELS / tier):
            if (where / version / "model.json").is_file():
                return where / version
        raise FileNotFoundError(f"no {tier} model {version!r} under {base}")
    versions = _versions(base) or _versions(PACKAGED_MODELS / tier)
    if not versions:
        raise FileNotFoundError(
            f"no trained {tier} under {base}: run `feedmix signals train --tier {tier}` first"
        )
    return versions[-1]


def model_meta(path: Path) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads((path / "model.json").read_text())
    return meta


def load_model(tier: str, version: str | None = None, root: Path | None = None, threads: int = 2) -> Labeler:
    from feedmix.signals.featurizers import (
        EmbeddingFeaturizer,
        Featurizer,
        HashingFeaturizer,
        StudentFeaturizer,
    )
    from feedmix.signals.trained_labeler import TrainedLabeler

    path = model_dir(tier, version, root)
    meta = model_meta(path)
    heads = LinearHeads.load(path / "heads.npz")
    featurizer: Featurizer
    if meta["featurizer"] == "hashing":
        featurizer = HashingFeaturizer(heads.n_features)
    elif meta["featurizer"] == "hashing+rules":
        featurizer = StudentFeaturizer(int(meta["n_features"]))
    elif meta["featurizer"] == "minilm+rules":
        featurizer = EmbeddingFeaturizer(threads=threads)
    else:
        raise ValueError(f"{path}: unknown featurizer {meta['featurizer']!r}")
    gazetteer = BrandGazetteer(read_names(GAZETTEER_PATH) + read_names(path / "names.tsv"))
    return TrainedLabeler(tier, TIER_NUMBERS[tier], f"{tier}-{meta['version']}", featurizer, heads, gazetteer)


def read_names(path: Path) -> list[tuple[str, str, str]]:
    """A names file (``surface, brand, category`` with a header), as rows."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [(a, b, c) for a, b, c in (line.split("\t") for line in lines if line.strip())]

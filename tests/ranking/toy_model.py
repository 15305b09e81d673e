"""A toy model for the registry tests: one small numpy array in ``weights.npy``.

Its loader builds the object in steps and sleeps in between, so a handle that published a model
before ``load`` returned would be caught with a half-built one (``ready`` still False). The module is
importable by spawned processes (the multi-process registration test runs ``register_many`` there).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt

from feedmix.ranking.model_registry import CodeVersion, DataWindow, ModelMeta, ModelRegistry, ModelVersion

FEATURES = ("post.ctr_1h", "post.age_hours", "user.clicks_24h")
CODE = CodeVersion(package_version="0.0-test", git_commit="0" * 40, git_dirty=False)


class ToyModel:
    def __init__(self) -> None:
        self.weights: npt.NDArray[np.float64] | None = None
        self.features: tuple[str, ...] = ()
        self.ready = False


def meta(value: float = 1.0, features: tuple[str, ...] = FEATURES, rows: int = 1000) -> ModelMeta:
    return ModelMeta(
        data_window=DataWindow(1_700_000_000.0, 1_700_086_400.0, rows),
        features=features,
        params={"learning_rate": 0.05, "num_leaves": 31, "value": value},
        metrics={"click.auc": 0.5 + value / 100, "click.logloss": 0.3},
        description=f"toy model {value}",
    )


def writer(value: float, size: int = 64) -> Callable[[Path], None]:
    """``write_files`` for a version whose weights are all ``value`` (so a reader can tell it apart)."""

    def write(directory: Path) -> None:
        np.save(directory / "weights.npy", np.full(size, value, dtype=np.float64))
        (directory / "extra").mkdir()
        (directory / "extra" / "notes.txt").write_text(f"value {value}\n")

    return write


def load_toy(delay_s: float = 0.0) -> Callable[[Path, ModelMeta], ToyModel]:
    def load(directory: Path, m: ModelMeta) -> ToyModel:
        model = ToyModel()
        model.weights = np.load(directory / "weights.npy", allow_pickle=False)
        time.sleep(delay_s)
        model.features = m.features
        time.sleep(delay_s)
        model.ready = True
        return model

    return load


def register_toy(
    registry: ModelRegistry, value: float, name: str = "ranker", features: tuple[str, ...] = FEATURES
) -> ModelVersion:
    return registry.register(name, writer(value), meta(value, features), code_version=CODE)


def register_many(root: str, name: str, threads: int, per_thread: int) -> list[str]:
    """Register ``threads * per_thread`` versions from threads of this process; their version names."""
    reg = ModelRegistry(root)

    def one(i: int) -> str:
        return reg.register(name, writer(float(i)), meta(float(i)), code_version=CODE).version

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(threads * per_thread)))


def flip_byte(path: Path, offset: int = -1) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))

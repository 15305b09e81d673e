"""A saved pCTR model reloads to the same scores, and a bad file fails loudly with a clear error."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from feedmix.ads.decision.targeting_index import TargetingIndex
from feedmix.ads.pctr.ad_log_generator import generate_ad_log
from feedmix.ads.pctr.pctr_model import PCTR_FORMAT, PctrModel, PctrModelFileError
from feedmix.ads.store.synthetic_campaigns import synthetic_snapshot

NOW = 1_376_000_000.0


@pytest.fixture(scope="module")
def trained() -> tuple[PctrModel, TargetingIndex, dict[str, np.ndarray]]:
    snapshot = synthetic_snapshot(60, [f"c{i}" for i in range(8)], now=NOW, seed=5)
    log, _ = generate_ad_log(snapshot, 20_000, seed=6)
    return PctrModel.train(log, smoothing=30.0), TargetingIndex.build(snapshot), log


def test_round_trip_scores_identically(
    trained: tuple[PctrModel, TargetingIndex, dict[str, np.ndarray]], tmp_path: Path
) -> None:
    model, index, log = trained
    path = model.save(tmp_path / "m" / "ads_pctr.json", meta={"note": "test"})
    assert [p.name for p in path.parent.iterdir()] == ["ads_pctr.json"]  # no temporary left behind
    doc = json.loads(path.read_text())
    assert doc["format"] == PCTR_FORMAT and doc["meta"] == {"note": "test"}
    # the per-ad-group and per-campaign history bind() needs travels with the model
    assert set(doc["group_log_coec"]) == set(model.group_log_coec) and doc["smoothing"] == 30.0

    loaded = PctrModel.load(path)
    assert loaded == model
    rows = np.arange(len(index), dtype=np.int64)
    rng = np.random.default_rng(0)
    match, overlap = rng.integers(0, 2, len(rows)).astype(float), rng.integers(0, 4, len(rows)).astype(float)
    np.testing.assert_array_equal(
        loaded.bind(index).score(rows, match, overlap), model.bind(index).score(rows, match, overlap)
    )
    np.testing.assert_array_equal(loaded.predict_table(log), model.predict_table(log))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ads_pctr.json"
    path.write_text(text)
    return path


def test_bad_files_raise_a_clear_error(
    trained: tuple[PctrModel, TargetingIndex, dict[str, np.ndarray]], tmp_path: Path
) -> None:
    good = trained[0].to_json()
    with pytest.raises(PctrModelFileError, match="cannot read"):
        PctrModel.load(tmp_path / "missing.json")
    with pytest.raises(PctrModelFileError, match="not valid JSON"):
        PctrModel.load(_write(tmp_path, '{"format": '))
    with pytest.raises(
        PctrModelFileError, match=re.escape("unsupported pCTR model format 'feedmix.pctr.v0'")
    ):
        PctrModel.load(_write(tmp_path, json.dumps({**good, "format": "feedmix.pctr.v0"})))
    with pytest.raises(PctrModelFileError, match="expected a JSON object"):
        PctrModel.load(_write(tmp_path, "[1, 2]"))
    missing = {k: v for k, v in good.items() if k != "group_log_coec"}
    with pytest.raises(PctrModelFileError, match="missing field 'group_log_coec'"):
        PctrModel.load(_write(tmp_path, json.dumps(missing)))
    with pytest.raises(PctrModelFileError, match="non-finite number NaN"):
        PctrModel.load(
            _write(tmp_path, json.dumps(good).replace('"intercept":', '"intercept": NaN, "x":', 1))
        )
    with pytest.raises(PctrModelFileError, match="intercept: not finite"):  # 1e999 parses as inf
        PctrModel.load(
            _write(tmp_path, json.dumps(good).replace('"intercept":', '"intercept": 1e999, "x":', 1))
        )
    with pytest.raises(PctrModelFileError, match="expected a number"):
        PctrModel.load(_write(tmp_path, json.dumps({**good, "position_weights": ["0"]})))
    with pytest.raises(PctrModelFileError, match="differ in length"):
        PctrModel.load(_write(tmp_path, json.dumps({**good, "position_ctr": [0.01]})))


def test_a_non_finite_model_is_not_written(
    trained: tuple[PctrModel, TargetingIndex, dict[str, np.ndarray]], tmp_path: Path
) -> None:
    model = trained[0]
    broken = PctrModel(**{**model.__dict__, "intercept": float("nan")})
    with pytest.raises(ValueError):
        broken.save(tmp_path / "ads_pctr.json")
    assert list(tmp_path.iterdir()) == []

"""The Open Bandit check: synthetic logs in the dataset's format, then the real logs (required in CI)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from feedmix import cli
from feedmix.corpus.reddit_corpus import default_data_dir
from feedmix.eval.ope.open_bandit import (
    CAMPAIGNS,
    N_POSITIONS,
    OPEN_BANDIT_DIR,
    PI_E_ESTIMATES,
    BanditLog,
    bts_policy,
    click_stratified_folds,
    cross_fitted_rewards,
    load_item_context,
    load_log,
    open_bandit_dir,
    run_open_bandit_ope,
)
from tests.conftest import IN_CI

N_ITEMS = 6
#: per item, the click rate at every position (high enough that a 1,200-row log has clicks)
CTR = np.array([0.02, 0.05, 0.08, 0.11, 0.14, 0.17])
#: the synthetic BTS: pi_e(item | position), constant over time
BTS = np.array(
    [[0.05, 0.1, 0.2], [0.05, 0.1, 0.2], [0.1, 0.1, 0.2], [0.1, 0.2, 0.2], [0.2, 0.2, 0.1], [0.5, 0.3, 0.1]]
)


def _write_csv_gz(path: Path, columns: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({"": np.arange(len(next(iter(columns.values())))), **columns})
    with pa.CompressedOutputStream(str(path), "gzip") as out:
        pacsv.write_csv(table, out)


def _write_log(root: Path, policy: str, rng: np.random.Generator, n: int = 1200) -> None:
    position = rng.integers(0, N_POSITIONS, size=n)
    if policy == "random":
        item = rng.integers(0, N_ITEMS, size=n)
        pscore = np.full(n, 1 / N_ITEMS)
    else:
        cdf = np.cumsum(BTS[:, position].T, axis=1)
        item = np.minimum((rng.random(n)[:, None] > cdf).sum(axis=1), N_ITEMS - 1)
        pscore = BTS[item, position]
    columns: dict[str, Any] = {
        "timestamp": [f"2019-11-24 00:{i // 60 % 60:02d}:{i % 60:02d}+00:00" for i in range(n)],
        "item_id": item,
        "position": position + 1,
        "click": (rng.random(n) < CTR[item]).astype(np.int64),
        "propensity_score": pscore,
    }
    for k in range(4):
        columns[f"user_feature_{k}"] = [f"u{k}_{v}" for v in rng.integers(0, 3 + k, size=n)]
    for a in range(N_ITEMS):
        columns[f"user-item_affinity_{a}"] = (rng.random(n) < 0.01).astype(np.float64)
    _write_csv_gz(root / policy / "all" / "all.csv.gz", columns)
    _write_csv_gz(
        root / policy / "all" / "item_context.csv.gz",
        {
            "item_id": np.arange(N_ITEMS),
            "item_feature_0": np.linspace(-1, 1, N_ITEMS),
            **{
                f"item_feature_{k}": [f"{policy}{k}_{a % (k + 1)}" for a in range(N_ITEMS)] for k in (1, 2, 3)
            },
        },
    )


@pytest.fixture
def tiny_open_bandit(tmp_path: Path) -> Path:
    """A data root holding ``open-bandit/{random,bts}/all`` in the dataset's own columns."""
    root = tmp_path / "data" / OPEN_BANDIT_DIR
    rng = np.random.default_rng(5)
    _write_log(root, "random", rng)
    _write_log(root, "bts", rng)
    return tmp_path / "data"


def test_the_logs_load_as_written(tiny_open_bandit: Path) -> None:
    root = open_bandit_dir(tiny_open_bandit)
    assert open_bandit_dir(root) == root
    items = load_item_context(root, "all")
    log = load_log(root, "bts", "all", items.n_items)
    assert items.n_items == N_ITEMS and log.n == 1200
    assert log.position.min() == 0 and log.position.max() == N_POSITIONS - 1
    assert np.array_equal(log.pscore, BTS[log.item, log.position])
    assert log.user_features.shape == (1200, 4) and log.affinity.shape == (1200, N_ITEMS)


def test_a_log_with_an_impossible_propensity_is_refused(tiny_open_bandit: Path) -> None:
    root = tiny_open_bandit / OPEN_BANDIT_DIR
    path = root / "bts" / "all" / "all.csv.gz"
    table = pacsv.read_csv(path)
    table = table.set_column(
        table.schema.get_field_index("propensity_score"), "propensity_score", [[0.0] * 1200]
    )
    with pa.CompressedOutputStream(str(path), "gzip") as out:
        pacsv.write_csv(table, out)
    with pytest.raises(ValueError, match="propensity_score"):
        load_log(root, "bts", "all", N_ITEMS)


def _drifting_log(seed: int) -> tuple[BanditLog, np.ndarray]:
    """A context-free policy on one position whose probabilities change every period, as BTS's did."""
    rng = np.random.default_rng(seed)
    periods, per_period = 40, 500
    probs = np.repeat(rng.dirichlet(np.ones(N_ITEMS), size=periods), per_period, axis=0)
    n = periods * per_period
    item = np.minimum((rng.random(n)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1), N_ITEMS - 1)
    # every position draws from the same moving policy
    position = np.arange(n) % N_POSITIONS
    log = BanditLog(
        item, position, np.zeros(n), probs[np.arange(n), item], np.zeros((n, 4), dtype=np.int64), probs
    )
    return log, probs.mean(axis=0)


def test_pi_e_is_the_moving_policys_average_not_the_mean_logged_propensity() -> None:
    log, average = _drifting_log(0)
    share = bts_policy(log, N_ITEMS, "share")
    assert share.prob == pytest.approx(np.repeat(average[:, None], N_POSITIONS, axis=1), abs=0.015)
    assert share.sums_before_renormalising == pytest.approx(np.ones(N_POSITIONS))
    # the mean of the logged propensities is pulled up by the moments an item was likely
    shown = np.bincount(log.item, minlength=N_ITEMS)
    plain_mean = np.bincount(log.item, weights=log.pscore, minlength=N_ITEMS) / shown
    assert plain_mean.sum() > 1.2
    with pytest.raises(ValueError, match="pi_e estimate"):
        bts_policy(log, N_ITEMS, "mean")
    with pytest.raises(ValueError, match=r"position\(s\) \[2, 3\]"):
        bts_policy(replace(log, position=np.zeros(log.n, dtype=np.int64)), N_ITEMS)


def test_the_reward_model_never_predicts_a_row_from_its_own_click(tiny_open_bandit: Path) -> None:
    root = open_bandit_dir(tiny_open_bandit)
    items = load_item_context(root, "all")
    log = load_log(root, "random", "all", items.n_items)
    fold = click_stratified_folds(log.click, 5, seed=0)
    assert np.ptp(np.bincount(fold[log.click == 1])) <= 1
    q = cross_fitted_rewards(log, items, fold)
    assert q.shape == (log.n, N_ITEMS) and np.all((q > 0) & (q < 1))
    # flip the clicks of a fold: its own predictions stay, every other fold's move
    flipped_fold = fold == 2
    flipped = replace(log, click=np.where(flipped_fold, 1 - log.click, log.click))
    q2 = cross_fitted_rewards(flipped, items, fold)
    assert np.array_equal(q2[flipped_fold], q[flipped_fold])
    assert not np.allclose(q2[~flipped_fold], q[~flipped_fold])


def test_feedmix_eval_ope_writes_the_table_as_json(
    tiny_open_bandit: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ope.json"
    argv = ["eval", "ope", "--data", str(tiny_open_bandit), "--campaigns", "all", "--n-boot", "50"]
    assert cli.main([*argv, "--seed", "3", "--json", str(out), "--no-progress", "--skip-simulated"]) == 0
    result = json.loads(out.read_text())
    assert result["n_boot"] == 50 and result["seed"] == 3 and list(result["campaigns"]) == ["all"]
    c = result["campaigns"]["all"]
    assert [e["estimator"] for e in c["estimators"]] == ["ips", "snips", "dr", "dm"]
    for row in [c["on_policy"], *c["estimators"]]:
        for key in ("estimate", "ci_low", "ci_high", "ess"):
            assert math.isfinite(row[key]), (row["estimator"], key)
        assert row["ci_low"] <= row["estimate"] <= row["ci_high"] and row["n"] == 1200
    for row in c["estimators"]:
        assert math.isfinite(row["relative_error"]) and isinstance(row["inside_on_policy_ci"], bool)
    assert c["pi_e_sums_before_renormalising"] == pytest.approx([1.0] * N_POSITIONS)
    assert "| all | IPS |" in capsys.readouterr().out


def test_the_harmonic_pi_e_is_exact_for_a_policy_that_stands_still(tiny_open_bandit: Path) -> None:
    root = open_bandit_dir(tiny_open_bandit)
    log = load_log(root, "bts", "all", N_ITEMS)
    # the synthetic BTS never moves: shown / sum(1 / p) is p itself, while the share has binomial noise
    assert bts_policy(log, N_ITEMS, "harmonic").prob == pytest.approx(BTS, rel=1e-12)
    assert bts_policy(log, N_ITEMS, "share").prob != pytest.approx(BTS, rel=1e-3)
    kw: dict[str, Any] = {"campaigns": ["all"], "n_boot": 5, "progress": False}
    harmonic = run_open_bandit_ope(tiny_open_bandit, pi_e_estimate="harmonic", **kw)
    share = run_open_bandit_ope(tiny_open_bandit, **kw)
    assert (harmonic["pi_e_estimate"], share["pi_e_estimate"]) == ("harmonic", "share")
    ips_of = [r["campaigns"]["all"]["estimators"][0]["estimate"] for r in (harmonic, share)]
    assert ips_of[0] != ips_of[1]


def test_an_unknown_campaign_is_refused(tiny_open_bandit: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["eval", "ope", "--data", str(tiny_open_bandit), "--campaigns", "all,kids"])
    assert exc.value.code == 2


@pytest.fixture(scope="module")
def open_bandit_root() -> Path:
    data = default_data_dir()
    try:
        return open_bandit_dir(data)
    except FileNotFoundError:
        msg = f"Open Bandit data not found at {data / OPEN_BANDIT_DIR} (set FEEDMIX_DATA_DIR)"
        if IN_CI:
            pytest.fail(msg + "; CI requires it")
        pytest.skip(msg)


@pytest.fixture(scope="module")
def real_table(open_bandit_root: Path) -> dict[str, Any]:
    return run_open_bandit_ope(open_bandit_root, n_boot=200, seed=0, progress=False)


def test_the_real_logs_have_valid_propensities(open_bandit_root: Path) -> None:
    for campaign in CAMPAIGNS:
        items = load_item_context(open_bandit_root, campaign)
        random = load_log(open_bandit_root, "random", campaign, items.n_items)
        bts = load_log(open_bandit_root, "bts", campaign, items.n_items)
        assert random.n == bts.n == 10_000
        # uniform random: every item equally likely at every position
        assert random.pscore == pytest.approx(np.full(random.n, 1 / items.n_items))
        assert np.all((bts.pscore > 0) & (bts.pscore <= 1))
        for estimate in PI_E_ESTIMATES:
            policy = bts_policy(bts, items.n_items, estimate)
            assert policy.prob.sum(axis=0) == pytest.approx(np.ones(N_POSITIONS)), estimate
            assert np.all(policy.prob >= 0)
            # each raw estimate is already nearly a distribution: renormalising only removes noise
            assert policy.sums_before_renormalising == pytest.approx(np.ones(N_POSITIONS), abs=0.2)


def test_an_estimate_from_the_random_log_lands_in_bts_on_policy_interval(real_table: dict[str, Any]) -> None:
    c = real_table["campaigns"]["all"]
    on = c["on_policy"]
    assert on["estimate"] == pytest.approx(0.0042)
    assert on["ci_low"] < on["estimate"] < on["ci_high"]
    inside = [e["estimator"] for e in c["estimators"] if on["ci_low"] <= e["estimate"] <= on["ci_high"]]
    assert {"ips", "snips", "dr"} & set(inside), c


def test_the_real_table_is_complete_and_finite(real_table: dict[str, Any]) -> None:
    assert list(real_table["campaigns"]) == list(CAMPAIGNS)
    for c in real_table["campaigns"].values():
        for row in c["estimators"]:
            assert all(math.isfinite(row[k]) for k in ("estimate", "ci_low", "ci_high", "relative_error"))
            # about 40 clicks in 10,000 rows: the weights leave roughly a third of the rows' worth
            assert 1_000 < row["ess"] <= 10_000

"""Off-policy evaluation checked against a measured answer: the Open Bandit Dataset (ZOZOTOWN).

ZOZOTOWN ran two policies on the same fashion recommendation slots (3 positions) in the same week:
uniform random and Bernoulli Thompson sampling (BTS). The random log lets an estimator *predict*
BTS's click rate off-policy, and the bts log holds the click rate BTS *got*: an estimator that works
should land inside the on-policy rate's confidence interval. This is the standard check of Saito et
al., "Open Bandit Dataset and Pipeline" (2021), here on obp's 10,000-row sample of each log.

A row is one item shown at one position, so everything is per position: the random log's
``propensity_score`` is pi_b(item | position) (1 / number of items), and the evaluation policy is
BTS's pi_e(item | position). BTS is context-free, so pi_e is read off the bts log, but its
probabilities moved all week as the posterior was updated (a pair was logged with up to 325 distinct
propensities; item 51 at position 1 went from 0.01 to 0.62 in the first 32 hours), and the
on-policy click rate measures their average over the week. ``bts_policy`` offers two estimates of
that average (``--pi-e``):

* ``share`` (the default): the share of the bts log's impressions at the position that showed the
  item. Impressions are draws from the moving policy, so the share estimates its average with
  binomial noise only, however fast the policy moved; and it is exactly the mix of items whose
  clicks the on-policy rate counts. Its columns sum to 1 by construction.
* ``harmonic``: shown / sum(1 / p) over the pair's logged propensities, their importance-weighted
  mean. Exact for a policy that stands still, but when the policy moves, the 1 / p of a row logged at
  a rare moment dominates it: its totals per position come to 1.07-1.13 here before renormalising,
  and in a simulation of drifting softmax policies whose totals came out the same, its error in the
  policy's value was about 3 times the share's. Each position is renormalised to sum to 1, and the
  totals before are reported (``pi_e_sums_before_renormalising``).

The plain mean of the logged propensities is not offered: a pair is logged more often exactly when
its probability is high, so the mean overshoots (at position 1 of ``all`` the means sum to 3.7).

The reward model of DR and DM is a logistic regression on one-hot user features, item id, item
features, position and the user's affinity to the item, cross-fitted over ``REWARD_MODEL_FOLDS``
folds so that no row's q comes from a model that saw it. With about 40 clicks in 10,000 rows the
features say little out of fold: at C = 0.01 the cross-fitted log loss on ``all`` was 0.02504 against
0.02497 for the constant click rate, C = 0.001 (a constant in all but name) tied with it, and weaker
regularisation (C = 0.1, 1, 10) was worse on every campaign. So the model stays close to a constant,
and DR acts as IPS with a control variate; DM is in effect the random log's own click rate.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from feedmix.eval.ope.estimators import DEFAULT_LEVEL, DEFAULT_N_BOOT, OPEResult, dm, dr, ips, snips

OPEN_BANDIT_DIR = "open-bandit"
CAMPAIGNS = ("all", "men", "women")
N_POSITIONS = 3
USER_FEATURES = 4
ITEM_CATEGORIES = 3
#: inverse regularisation of the reward model: by cross-fitted log loss 0.001 and 0.01 tie with a
#: constant and 0.1, 1, 10 are worse on every campaign (little signal out of fold, see the module doc)
REWARD_MODEL_C = 0.01
REWARD_MODEL_FOLDS = 5
#: how ``bts_policy`` reads pi_e off the bts log, the default first
PI_E_ESTIMATES = ("share", "harmonic")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class BanditLog:
    """One policy's log of one campaign, as arrays; positions are 0-based."""

    item: IntArray
    position: IntArray
    click: FloatArray
    #: the logging policy's probability of the shown item at that position
    pscore: FloatArray
    #: per row, the category code of each hashed user feature (codes are this log's own)
    user_features: IntArray
    #: per row and item, the user's affinity to that item (almost always 0)
    affinity: FloatArray

    @property
    def n(self) -> int:
        return int(self.item.size)


@dataclass(frozen=True)
class ItemContext:
    """Item features: ``item_feature_0`` standardised, the hashed ones as category codes."""

    numeric: FloatArray
    categories: IntArray

    @property
    def n_items(self) -> int:
        return int(self.numeric.size)


@dataclass(frozen=True)
class PositionPolicy:
    """pi_e(item | position) as an (items, positions) table whose columns sum to 1."""

    prob: FloatArray
    #: each position's total before renormalising: how far the raw estimate was from a distribution
    sums_before_renormalising: FloatArray


def open_bandit_dir(data_dir: str | Path) -> Path:
    """Accept the ``open-bandit`` folder itself or a data root holding it."""
    p = Path(data_dir)
    for candidate in (p, p / OPEN_BANDIT_DIR):
        if (candidate / "random").is_dir() and (candidate / "bts").is_dir():
            return candidate
    raise FileNotFoundError(f"no random/ and bts/ logs at {p} (nor in {p / OPEN_BANDIT_DIR})")


def _codes(column: pa.ChunkedArray) -> IntArray:
    return np.asarray(pc.dictionary_encode(column).combine_chunks().indices, dtype=np.int64)


def load_item_context(root: Path, campaign: str) -> ItemContext:
    """The random log's copy: the reward model is fitted there, and the bts copy hashes differently."""
    table = pacsv.read_csv(root / "random" / campaign / "item_context.csv.gz")
    order = np.argsort(table["item_id"].to_numpy())
    if not np.array_equal(table["item_id"].to_numpy()[order], np.arange(table.num_rows)):
        raise ValueError(f"item_context of {campaign} does not hold items 0..{table.num_rows - 1}")
    numeric = table["item_feature_0"].to_numpy().astype(np.float64)[order]
    spread = numeric.std()
    categories = np.column_stack([_codes(table[f"item_feature_{k}"]) for k in range(1, ITEM_CATEGORIES + 1)])
    return ItemContext(
        numeric=(numeric - numeric.mean()) / (spread if spread > 0 else 1.0),
        categories=categories[order],
    )


def load_log(root: Path, policy: str, campaign: str, n_items: int) -> BanditLog:
    """One log file, checked: items inside the catalogue, positions 1-3, propensities in (0, 1]."""
    path = root / policy / campaign / f"{campaign}.csv.gz"
    table = pacsv.read_csv(path)
    item = table["item_id"].to_numpy().astype(np.int64)
    position = table["position"].to_numpy().astype(np.int64) - 1
    pscore = table["propensity_score"].to_numpy().astype(np.float64)
    if np.any((item < 0) | (item >= n_items)):
        raise ValueError(f"{path}: item_id outside the {n_items} items of item_context")
    if np.any((position < 0) | (position >= N_POSITIONS)):
        raise ValueError(f"{path}: position outside 1..{N_POSITIONS}")
    if not np.all((pscore > 0) & (pscore <= 1)):
        raise ValueError(f"{path}: propensity_score outside (0, 1]")
    return BanditLog(
        item=item,
        position=position,
        click=table["click"].to_numpy().astype(np.float64),
        pscore=pscore,
        user_features=np.column_stack([_codes(table[f"user_feature_{k}"]) for k in range(USER_FEATURES)]),
        affinity=np.column_stack(
            [table[f"user-item_affinity_{a}"].to_numpy().astype(np.float64) for a in range(n_items)]
        ),
    )


def bts_policy(bts: BanditLog, n_items: int, estimate: str = PI_E_ESTIMATES[0]) -> PositionPolicy:
    """pi_e(item | position) from the bts log: ``share`` or ``harmonic`` (why two: module doc)."""
    key = bts.item * N_POSITIONS + bts.position
    size = n_items * N_POSITIONS
    shown = np.bincount(key, minlength=size).reshape(n_items, N_POSITIONS).astype(np.float64)
    empty = np.flatnonzero(shown.sum(axis=0) == 0)
    if empty.size:
        raise ValueError(
            f"the bts log shows nothing at position(s) {(empty + 1).tolist()}: pi_e is undefined"
        )
    if estimate == "share":
        raw = shown / shown.sum(axis=0)
    elif estimate == "harmonic":
        inverse = np.bincount(key, weights=1.0 / bts.pscore, minlength=size).reshape(n_items, N_POSITIONS)
        raw = np.divide(shown, inverse, out=np.zeros_like(shown), where=inverse > 0)
    else:
        raise ValueError(f"unknown pi_e estimate {estimate!r} (use {', '.join(PI_E_ESTIMATES)})")
    sums = raw.sum(axis=0)
    return PositionPolicy(prob=raw / sums, sums_before_renormalising=sums)


def _design(log: BanditLog, items: ItemContext, rows: IntArray, candidates: IntArray) -> sp.csr_matrix:
    """Reward-model inputs of (logged row, candidate item) pairs at the row's position.

    Every pair has the same 11 entries (one per feature block), so the CSR arrays are built directly.
    """
    user_sizes = log.user_features.max(axis=0) + 1
    category_sizes = items.categories.max(axis=0) + 1
    sizes = [*user_sizes, items.n_items, *category_sizes, N_POSITIONS, 1, 1]
    offsets = np.cumsum([0, *sizes])
    one_hot = np.column_stack(
        [log.user_features[rows], candidates, items.categories[candidates], log.position[rows]]
    )
    m, k_one_hot = one_hot.shape
    cols = np.column_stack([one_hot + offsets[:k_one_hot], np.tile(offsets[k_one_hot:-1], (m, 1))])
    vals = np.ones(cols.shape)
    vals[:, k_one_hot] = items.numeric[candidates]
    vals[:, k_one_hot + 1] = np.log1p(log.affinity[rows, candidates])
    k = cols.shape[1]
    return sp.csr_matrix(
        (vals.ravel(), cols.ravel(), np.arange(0, k * m + 1, k)), shape=(m, int(offsets[-1]))
    )


def click_stratified_folds(click: FloatArray, n_folds: int = REWARD_MODEL_FOLDS, seed: int = 0) -> IntArray:
    """A fold per row, the clicks dealt round-robin like the rest: with about 40 clicks in 10,000
    rows, a plain random split could leave a fold's model with very few clicks to learn from."""
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(click.size), click))
    fold = np.empty(click.size, dtype=np.int64)
    fold[order] = np.arange(click.size) % n_folds
    return fold


def cross_fitted_rewards(log: BanditLog, items: ItemContext, fold: IntArray) -> FloatArray:
    """q(x_i, a) for every row i and every item a at row i's position, from a model fitted on the
    other folds: DR's correction term is only unbiased if q(x_i, .) did not learn from row i's click."""
    q = np.empty((log.n, items.n_items))
    every_item = np.arange(items.n_items)
    with threadpool_limits(1):
        for f in np.unique(fold):
            train, test = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            model = LogisticRegression(C=REWARD_MODEL_C, max_iter=1000)
            model.fit(_design(log, items, train, log.item[train]), log.click[train])
            rows, candidates = np.repeat(test, items.n_items), np.tile(every_item, test.size)
            p_click = model.predict_proba(_design(log, items, rows, candidates))[:, 1]
            q[test] = p_click.reshape(test.size, items.n_items)
    return q


def _log_loss(y: FloatArray, p: FloatArray) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def evaluate_campaign(
    random: BanditLog,
    bts: BanditLog,
    items: ItemContext,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    max_weight: float | None = None,
    pi_e_estimate: str = PI_E_ESTIMATES[0],
) -> dict[str, Any]:
    """BTS's click rate measured on the bts log, and estimated from the random log by each estimator."""
    boot: dict[str, Any] = {"n_boot": n_boot, "seed": seed}
    # pi_e == pi_b: every weight is 1 and IPS is the sample mean, with the same bootstrap as the rest
    on_policy = replace(ips(bts.click, bts.pscore, bts.pscore, **boot), estimator="on-policy")
    policy = bts_policy(bts, items.n_items, pi_e_estimate)
    pi_e = policy.prob[random.item, random.position]
    q = cross_fitted_rewards(random, items, click_stratified_folds(random.click, seed=seed))
    q_logged = q[np.arange(random.n), random.item]
    q_expected = (q * policy.prob.T[random.position]).sum(axis=1)
    clipped: dict[str, Any] = {**boot, "max_weight": max_weight}
    estimates: list[OPEResult] = [
        ips(random.click, random.pscore, pi_e, **clipped),
        snips(random.click, random.pscore, pi_e, **clipped),
        dr(random.click, random.pscore, pi_e, q_logged, q_expected, **clipped),
        dm(q_expected, **boot),
    ]
    truth = on_policy.estimate
    rows = [
        {
            **e.to_json(),
            "relative_error": abs(e.estimate - truth) / truth if truth > 0 else None,
            "inside_on_policy_ci": bool(on_policy.ci_low <= e.estimate <= on_policy.ci_high),
        }
        for e in estimates
    ]
    return {
        "on_policy": on_policy.to_json(),
        "estimators": rows,
        "random_log_ctr": float(random.click.mean()),
        "pi_e_sums_before_renormalising": [round(float(s), 4) for s in policy.sums_before_renormalising],
        "reward_model": {
            "kind": f"logistic regression, C={REWARD_MODEL_C}, {REWARD_MODEL_FOLDS}-fold cross-fitted",
            "log_loss": _log_loss(random.click, q_logged),
            "log_loss_constant_ctr": _log_loss(random.click, np.full(random.n, random.click.mean())),
        },
    }


def run_open_bandit_ope(
    data_dir: str | Path | None = None,
    *,
    campaigns: Sequence[str] = CAMPAIGNS,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    max_weight: float | None = None,
    pi_e_estimate: str = PI_E_ESTIMATES[0],
    progress: bool = True,
) -> dict[str, Any]:
    """Every campaign's table; ``data_dir`` is the shared data root or the open-bandit folder
    (default: ``default_data_dir()``). The JSON-ready result feeds ``markdown_table``."""
    from feedmix.corpus.reddit_corpus import default_data_dir

    started = time.perf_counter()
    root = open_bandit_dir(data_dir if data_dir is not None else default_data_dir())
    out: dict[str, Any] = {}
    for campaign in tqdm(campaigns, desc="open bandit campaigns", disable=not progress, leave=False):
        items = load_item_context(root, campaign)
        random = load_log(root, "random", campaign, items.n_items)
        bts = load_log(root, "bts", campaign, items.n_items)
        out[campaign] = evaluate_campaign(
            random, bts, items, n_boot=n_boot, seed=seed, max_weight=max_weight, pi_e_estimate=pi_e_estimate
        )
    return {
        "dataset": "open bandit dataset (obp 0.4.1 sample): BTS estimated from the random log",
        "n_boot": n_boot,
        "seed": seed,
        "max_weight": max_weight,
        "pi_e_estimate": pi_e_estimate,
        "ci_level": DEFAULT_LEVEL,
        "campaigns": out,
        "seconds": round(time.perf_counter() - started, 2),
    }


def markdown_table(result: dict[str, Any]) -> str:
    """One row per campaign and estimator, the on-policy measurement first, then a note on reading it."""
    lines = [
        "| campaign | estimator | CTR | 95% CI | relative error | in on-policy CI | ESS |",
        "|---|---|---:|---|---:|---|---:|",
    ]
    for campaign, c in result["campaigns"].items():
        for row in [c["on_policy"], *c["estimators"]]:
            on_policy = row["estimator"] == "on-policy"
            name = "on-policy (bts log)" if on_policy else row["estimator"].upper()
            err = "" if on_policy or row["relative_error"] is None else f"{row['relative_error']:.1%}"
            inside = "" if on_policy else ("yes" if row["inside_on_policy_ci"] else "no")
            ci = f"[{row['ci_low']:.5f}, {row['ci_high']:.5f}]"
            cells = [campaign, name, f"{row['estimate']:.5f}", ci, err, inside, f"{row['ess']:.0f}"]
            lines.append("| " + " | ".join(cells) + " |")
    lines.append(
        "\nDR and DM intervals resample rows with the reward model held fixed, so DM's leaves out the"
        " model's own error and is far too narrow."
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``feedmix eval ope``: the Open Bandit table, the simulated service's table, the JSON behind them."""
    import argparse
    import json
    import tempfile

    p = argparse.ArgumentParser(prog="feedmix eval ope", description=(__doc__ or "").split("\n")[0])
    p.add_argument("--data", default=None, help="shared data root or the open-bandit folder")
    p.add_argument("--campaigns", default=",".join(CAMPAIGNS), help="comma-separated, of all,men,women")
    p.add_argument("--n-boot", type=int, default=DEFAULT_N_BOOT, help="bootstrap resamples per interval")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-weight", type=float, default=None, help="clip importance weights (default: none)")
    p.add_argument(
        "--pi-e", choices=PI_E_ESTIMATES, default=PI_E_ESTIMATES[0], help="how BTS's pi_e is read off its log"
    )
    p.add_argument(
        "--sessions", type=int, default=600, help="simulated sessions logged, and run online as truth"
    )
    p.add_argument(
        "--candidate",
        default=None,
        help='the candidate: home params as JSON; with --logged also "model_version" or "sources"',
    )
    p.add_argument(
        "--logged",
        action="store_true",
        help="only: the candidate estimated on a running server's logs (--config; default: the demo's var/)",
    )
    p.add_argument("--config", default=None, help="with --logged: the server's TOML config")
    p.add_argument("--skip-open-bandit", action="store_true")
    p.add_argument("--skip-simulated", action="store_true")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the JSON here")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    campaigns = [c.strip() for c in a.campaigns.split(",") if c.strip()]
    unknown = sorted(set(campaigns) - set(CAMPAIGNS))
    if unknown:
        p.error(f"unknown campaign(s) {', '.join(unknown)} (use {', '.join(CAMPAIGNS)})")
    result: dict[str, Any] = {}
    if a.logged:
        from feedmix.config import FeedmixConfig
        from feedmix.eval.ope.simulated import DEFAULT_CANDIDATE, estimate_from_logs, logged_table

        cfg = FeedmixConfig.from_toml(a.config) if a.config else FeedmixConfig()
        candidate = json.loads(a.candidate) if a.candidate else DEFAULT_CANDIDATE
        result["logged"] = estimate_from_logs(cfg, candidate, n_boot=a.n_boot, seed=a.seed)
        print(logged_table(result["logged"]))
        if a.json:
            Path(a.json).write_text(json.dumps(result, indent=2) + "\n")
        return 0
    if not a.skip_open_bandit:
        result = run_open_bandit_ope(
            a.data,
            campaigns=campaigns,
            n_boot=a.n_boot,
            seed=a.seed,
            max_weight=a.max_weight,
            pi_e_estimate=a.pi_e,
            progress=not a.no_progress,
        )
        print(markdown_table(result))
    if not a.skip_simulated:
        from feedmix.eval.ope.simulated import markdown_table as simulated_table
        from feedmix.eval.ope.simulated import run_simulated_ope

        with tempfile.TemporaryDirectory(prefix="feedmix-ope-") as tmp:
            result["simulated"] = run_simulated_ope(
                Path(tmp),
                sessions=a.sessions,
                candidate=json.loads(a.candidate) if a.candidate else None,
                n_boot=a.n_boot,
                seed=a.seed,
                progress=not a.no_progress,
            )
        print("\n" + simulated_table(result["simulated"]))
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

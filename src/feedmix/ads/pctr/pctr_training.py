"""Train the serving pCTR model from the service's own ad log (``feedmix ads train-pctr``).

Input: the tracking endpoints' ad log (``<state_dir>/ad_log``), collapsed by
:func:`feedmix.ads.api.ad_tracker.ad_log_table` to one row per impression with ``clicked``, in time order.

Evaluation is temporal: the model is fitted on the oldest 80% of impressions and scored on the
latest 20%, because that is how it will be used (trained on the past, serving the future); a random
split would let an ad group's later clicks leak into its own history features and flatter the
model. The holdout reports AUC and log loss next to those of the prior the server uses without a
model (one constant CTR: AUC 0.5 by construction), so an operator can see whether shipping the model
is an improvement at all. The shipped model is then refitted on *all* impressions, so the freshest
history (the COEC of each ad group and campaign) is in it; its quality is the holdout's, measured
one step back.

Too little data refuses with :class:`NotEnoughAdData` rather than shipping a model whose history
features are mostly smoothing and whose AUC is noise. The output is written atomically
(:meth:`PctrModel.save`), so a serving process polling the file never reads half of it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import log_loss, roc_auc_score

from feedmix.ads.api.ad_tracker import ad_log_table
from feedmix.ads.pctr.ad_log_generator import LOG_COLUMNS
from feedmix.ads.pctr.pctr_model import DEFAULT_PRIOR_CTR, PctrModel
from feedmix.config import FeedmixConfig

#: the share of impressions, latest by time, held out for evaluation
HOLDOUT_FRACTION = 0.2
_EPS = 1e-7

Table = dict[str, npt.NDArray[np.generic]]


class NotEnoughAdData(ValueError):
    """The ad log is too small (or too one-sided) to train a pCTR model worth serving."""


def default_paths(cfg: FeedmixConfig) -> tuple[Path, Path]:
    """The ad log folder and the model file the service uses: ``<state_dir>/ad_log`` and
    ``<state_dir>/ads_pctr.json`` (the file :func:`feedmix.ads.ads_runtime.open_ads` loads)."""
    state = Path(cfg.state_dir)
    return state / "ad_log", state / "ads_pctr.json"


def _numpy_table(log_dir: str | Path) -> Table:
    table = ad_log_table(log_dir)
    if table.num_rows == 0:
        return {c: np.zeros(0) for c in LOG_COLUMNS}
    return {c: np.asarray(table.column(c).to_numpy(zero_copy_only=False)) for c in LOG_COLUMNS}


def _take(table: Mapping[str, npt.NDArray[np.generic]], sl: slice) -> Table:
    return {c: np.asarray(v[sl]) for c, v in table.items()}


def _metrics(y: npt.NDArray[np.float64], p: npt.NDArray[np.float64]) -> dict[str, float]:
    clipped = np.clip(p, _EPS, 1.0 - _EPS)
    return {
        "auc": float(roc_auc_score(y, p)),
        "log_loss": float(log_loss(y, clipped, labels=[0.0, 1.0])),
    }


def train_pctr_from_log(
    log_dir: str | Path,
    out_path: str | Path,
    *,
    min_impressions: int = 1000,
    min_clicks: int = 20,
    prior_ctr: float = DEFAULT_PRIOR_CTR,
) -> dict[str, Any]:
    """Train on ``log_dir``'s impressions, evaluate on the latest 20%, write the model to ``out_path``.

    Returns a JSON-able summary (counts, holdout metrics of the model and of the prior, the output
    path). Raises :class:`NotEnoughAdData` below ``min_impressions`` / ``min_clicks``, or when the
    training or holdout part has no clicks (or only clicks): nothing is written then, so the
    server keeps whatever it serves.
    """
    table = _numpy_table(log_dir)
    y = np.asarray(table["clicked"], dtype=np.float64)
    n, clicks = int(y.shape[0]), int(y.sum())
    if n < min_impressions or clicks < min_clicks:
        raise NotEnoughAdData(
            f"the ad log {str(log_dir)!r} has {n} impressions and {clicks} clicks; training needs at "
            f"least {min_impressions} impressions and {min_clicks} clicks (serve and track more ads, "
            "or lower --min-impressions / --min-clicks)"
        )
    cut = n - max(1, round(n * HOLDOUT_FRACTION))
    train, holdout = _take(table, slice(0, cut)), _take(table, slice(cut, n))
    y_train, y_hold = y[:cut], y[cut:]
    for name, part in (("training", y_train), ("holdout", y_hold)):
        if part.size == 0 or part.min() == part.max():
            raise NotEnoughAdData(
                f"the {name} part of the ad log ({part.size} impressions, {int(part.sum())} clicks) "
                "needs both clicked and unclicked impressions; collect more data"
            )
    evaluated = PctrModel.train(train)
    p_model = evaluated.predict_table(holdout)
    p_prior = np.full(y_hold.shape[0], prior_ctr)
    model_metrics, prior_metrics = _metrics(y_hold, p_model), _metrics(y_hold, p_prior)

    shipped = PctrModel.train(table)
    summary: dict[str, Any] = {
        "impressions": n,
        "clicks": clicks,
        "ctr": clicks / n,
        "train_impressions": cut,
        "holdout_impressions": n - cut,
        "holdout_clicks": int(y_hold.sum()),
        "ad_groups": len(shipped.group_log_coec),
        "campaigns": len(shipped.campaign_log_coec),
        "holdout": {"model": model_metrics, "prior": prior_metrics, "prior_ctr": prior_ctr},
        "beats_prior": model_metrics["auc"] > prior_metrics["auc"]
        and model_metrics["log_loss"] < prior_metrics["log_loss"],
        "model": str(out_path),
    }
    meta = {"log_dir": str(log_dir), **{k: v for k, v in summary.items() if k != "model"}}
    shipped.save(out_path, meta=meta)
    return summary


def _format(summary: Mapping[str, Any]) -> str:
    m, p = summary["holdout"]["model"], summary["holdout"]["prior"]
    return "\n".join(
        [
            f"trained on {summary['impressions']} impressions, {summary['clicks']} clicks "
            f"(CTR {summary['ctr']:.4f}) over {summary['ad_groups']} ad groups",
            f"holdout (latest {summary['holdout_impressions']} impressions, "
            f"{summary['holdout_clicks']} clicks):",
            f"  model  AUC {m['auc']:.4f}  log loss {m['log_loss']:.5f}",
            f"  prior  AUC {p['auc']:.4f}  log loss {p['log_loss']:.5f}",
            f"wrote {summary['model']}"
            + ("" if summary["beats_prior"] else "  (warning: it does not beat the prior on the holdout)"),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``feedmix ads train-pctr``: exit 0 on success, 2 when the log is too small (nothing written)."""
    parser = argparse.ArgumentParser(
        prog="feedmix ads train-pctr",
        description="Train the ad server's pCTR model from the service's own ad log.",
    )
    parser.add_argument("--config", help="TOML config (for state_dir); defaults otherwise")
    parser.add_argument("--log", help="ad log folder (default: <state_dir>/ad_log)")
    parser.add_argument("--out", help="model file (default: <state_dir>/ads_pctr.json, what serving loads)")
    parser.add_argument("--min-impressions", type=int, default=1000)
    parser.add_argument("--min-clicks", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(list(argv) if argv is not None else None)
    cfg = FeedmixConfig.from_toml(args.config) if args.config else FeedmixConfig()
    log_default, out_default = default_paths(cfg)
    log_dir = Path(args.log) if args.log else log_default
    out = Path(args.out) if args.out else out_default
    try:
        summary = train_pctr_from_log(
            log_dir, out, min_impressions=args.min_impressions, min_clicks=args.min_clicks
        )
    except NotEnoughAdData as exc:
        if args.json:
            print(json.dumps({"error": "not_enough_ad_data", "message": str(exc)}))
        print(f"feedmix ads train-pctr: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2) if args.json else _format(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

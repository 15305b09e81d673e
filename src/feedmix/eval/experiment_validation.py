"""``feedmix eval experiments``: experiment statistics proven on simulated users, where the truth is known.

1. **A/A on logged traffic.** Simulated sessions go through the real service in two phases (a
   pre-period, then the experiment period), with nothing running. The logged traffic is then split
   ``--aa-runs`` times by the real assigner, each time with a fresh experiment id (a fresh salt) into
   two identical arms; each unit's exposure is its first request of the experiment period, and the
   real analysis runs on every split. Arms that differ only by chance must be called different at
   about alpha (5%) of the time: the check passes when the false-positive rate is within [0.02, 0.08].
   The CUPED variance reduction (pre-period engagement as the covariate) is reported over the runs.
2. **A planted effect, live.** The same two phases against a fresh service, with an experiment
   started through the store between them: half of the users get ``--treatment`` (by default
   ``heuristic_scorer.w_affinity=0``, ranking that ignores the user's communities), served, exposed and
   analysed through the real path.
3. **The closed-loop truth.** Two more services, every user in the control world or every user in the
   treatment world, the same seeds (the same users start the same sessions): the per-user difference
   in the same metric is what the experiment should have measured; its sign and size must agree.
4. **A broken assignment.** The live experiment's exposures with 10%, 25% and 50% of the treatment
   arm's dropped (a logging path that loses one arm's users) must trip the sample-ratio check (alarm at
   p < 0.001); how small a loss it catches depends on the number of units, so all three are reported.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from feedmix.config import FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.eval.learning_loop import loop_config
from feedmix.events.event_log import scan
from feedmix.events.schema import Event
from feedmix.experiments import rules
from feedmix.experiments.analysis import analyze
from feedmix.experiments.assignment import Assigner, Visitor
from feedmix.experiments.exposure import Exposure
from feedmix.experiments.model import Experiment, Variant, check_definition
from feedmix.simulation.behavior import BehaviorModel
from feedmix.simulation.driver import mean_ci95, simulate

METRIC = "engagement_per_user"
#: shares of the treatment arm's exposures the broken-assignment check drops
DROPPED_SHARES = (0.1, 0.25, 0.5)
DEFAULT_TREATMENT = {"heuristic_scorer.w_affinity": 0.0}


def _experiment(experiment_id: str, treatment: dict[str, Any]) -> Experiment:
    return check_definition(
        Experiment(
            experiment_id=experiment_id,
            owner="eval",
            hypothesis="validation of the experiment statistics",
            surfaces=("home",),
            variants=(Variant("control", 1.0), Variant("treatment", 1.0, treatment)),
            layer="validation",
            primary_metric=METRIC,
        )
    )


def _phases(
    cfg: FeedmixConfig,
    corpus: RedditCorpus,
    pre: int,
    post: int,
    seed: int,
    *,
    between: Any = None,
    params: dict[str, Any] | None = None,
    progress: bool,
) -> tuple[float, float, list[Event]]:
    """Sessions of a pre-period and an experiment period against one service; ``between(runtime)``
    runs in the gap (starting an experiment). Returns the split time, the end time and the log."""
    from fastapi.testclient import TestClient

    from feedmix.serving.app import create_app
    from feedmix.serving.runtime import Runtime

    if params:
        cfg = dataclasses.replace(cfg, pipeline_params={"home": dict(params)})
    rt = Runtime.build(cfg, corpus=corpus)
    try:
        behavior = BehaviorModel(corpus)
        with TestClient(create_app(rt)) as client:
            simulate(client, rt.population, behavior, corpus, pre, seed, progress=progress, run_id="pre")
            if between is not None:
                between(rt)
            split = time.time()
            time.sleep(0.01)
            simulate(
                client, rt.population, behavior, corpus, post, seed + 1, progress=progress, run_id="post"
            )
        rt.executor.shutdown(wait_for_side_effects=True)  # every exposure is in its log
        end = time.time()
        events = list(scan(rt.event_log))
    finally:
        rt.close()
    return split, end, events


def _first_requests(events: list[Event], since: float) -> dict[str, float]:
    """Each user's first impression of the experiment period: when a live assignment would expose them."""
    first: dict[str, float] = {}
    for e in events:
        if (
            e.type == "impression"
            and e.ts is not None
            and e.ts >= since
            and e.ts < first.get(e.user_id, np.inf)
        ):
            first[e.user_id] = e.ts
    return first


def aa_runs(
    events: list[Event], split: float, end: float, runs: int, alpha: float, progress: bool
) -> dict[str, Any]:
    first = _first_requests(events, split)
    users = sorted(first)
    rejected = rejected_raw = 0
    reductions, p_values = [], []
    for r in tqdm(range(runs), desc="A/A splits", disable=not progress, leave=False):
        exp = _experiment(f"aa-{r}", {}).replace(
            status="running", range_start=0.0, start_ts=split, period_start_ts=split
        )
        assigner = Assigner([exp])
        exposures = []
        for u in users:
            (a,) = assigner.assign("home", Visitor(u, u, known=True))
            exposures.append(
                Exposure(
                    event_id=f"x{r}-{u}", experiment=exp.experiment_id, variant=a.variant, bucket_version=1,
                    unit=u, user_id=u, request_id="aa", surface="home", ts=first[u],
                )
            )  # fmt: skip
        report = analyze(exp, exposures, events, end, alpha=alpha)
        row = next(m for m in report["metrics"] if m["metric"] == METRIC)
        c = row["comparisons"]["treatment"]
        p_values.append(c["p_value"])
        rejected += c["p_value"] < alpha
        rejected_raw += c["cuped"]["unadjusted"]["p_value"] < alpha
        reductions.append(c["cuped"]["variance_reduction"])
    fpr = rejected / runs
    # a binomial 95% interval of the rate itself, so a reader sees how exact 200 runs can be
    half = 1.96 * np.sqrt(max(fpr * (1 - fpr), 1e-12) / runs)
    return {
        "runs": runs,
        "units": len(users),
        "events": len(events),
        "alpha": alpha,
        "false_positive_rate": fpr,
        "false_positive_rate_ci95": [max(0.0, fpr - half), fpr + half],
        "false_positive_rate_without_cuped": rejected_raw / runs,
        "within_0.02_0.08": bool(0.02 <= fpr <= 0.08),
        "cuped_variance_reduction_mean": float(np.mean(reductions)),
        "p_value_quartiles": [float(q) for q in np.quantile(p_values, [0.25, 0.5, 0.75])],
    }


def _per_user(events: list[Event], since: float, until: float) -> dict[str, float]:
    """Engagement per user in the period (clicks + upvotes + comments), for users with an impression."""
    seen: dict[str, float] = {}
    for e in events:
        if e.ts is None or not since <= e.ts < until:
            continue
        if e.type == "impression":
            seen.setdefault(e.user_id, 0.0)
        elif e.type in ("click", "upvote", "comment"):
            seen[e.user_id] = seen.get(e.user_id, 0.0) + 1.0
    return seen


def run(
    state_dir: Path,
    *,
    posts: str = "demo",
    users: int = 2000,
    pre: int = 1200,
    post: int = 1200,
    aa: int = 200,
    treatment: dict[str, Any] | None = None,
    seed: int = 7,
    alpha: float = 0.05,
    progress: bool = True,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    treatment = dict(treatment or DEFAULT_TREATMENT)
    corpus = RedditCorpus.load(FeedmixConfig(posts=posts).posts_path())

    def cfg(name: str) -> FeedmixConfig:
        return loop_config(state_dir / name, posts=posts, users=users, experiments_refresh_interval_s=0.0)

    split, end, events = _phases(cfg("aa"), corpus, pre, post, seed, progress=progress)
    result: dict[str, Any] = {"aa": aa_runs(events, split, end, aa, alpha, progress)}

    live = _experiment("planted", treatment)

    def start(rt: Any) -> None:
        store = rt.experiments.store
        store.create(live, time.time())
        store.update(live.experiment_id, lambda e, running, h: rules.start(e, running, h, time.time()))
        rt.experiments.assigner.refresh()

    split, end, events = _phases(cfg("planted"), corpus, pre, post, seed, between=start, progress=progress)
    from feedmix.experiments.backends import open_experiment_store, open_exposure_log

    store = open_experiment_store(cfg("planted").experiments_store)
    exp = store.get(live.experiment_id)
    store.close()
    exposure_log = open_exposure_log(cfg("planted").exposure_log)
    exposures = list(scan(exposure_log))
    exposure_log.close()
    report = analyze(exp, exposures, events, end, alpha=alpha)
    row = next(m for m in report["metrics"] if m["metric"] == METRIC)
    planted = row["comparisons"]["treatment"]

    # the closed loop: the same sessions with everyone in one world, then the other
    worlds = {}
    for name, params in (("control", {}), ("treatment", treatment)):
        s, e, ev = _phases(cfg(f"world-{name}"), corpus, pre, post, seed, params=params, progress=progress)
        worlds[name] = _per_user(ev, s, e)
    common = sorted(set(worlds["control"]) & set(worlds["treatment"]))
    diffs = np.array([worlds["treatment"][u] - worlds["control"][u] for u in common])
    mean_diff, ci = mean_ci95(diffs)
    truth = {
        "users": len(common),
        "control_mean": float(np.mean([worlds["control"][u] for u in common])),
        "treatment_mean": float(np.mean([worlds["treatment"][u] for u in common])),
        "difference": mean_diff,
        "difference_ci95": list(ci) if ci else None,
    }
    agrees = bool(
        np.sign(planted["diff"]) == np.sign(mean_diff)
        and planted["significant"]
        and planted["ci_low"] <= mean_diff <= planted["ci_high"]
    )
    result["planted"] = {
        "treatment": treatment,
        "exposed": report["exposed"],
        "srm": report["srm"],
        "control_level": planted["control_level"],
        "difference": planted["diff"],
        "ci95": [planted["ci_low"], planted["ci_high"]],
        "always_valid_ci95": [planted["always_valid"]["ci_low"], planted["always_valid"]["ci_high"]],
        "p_value": planted["p_value"],
        "significant": planted["significant"],
        "cuped_variance_reduction": planted["cuped"]["variance_reduction"],
        "ci95_without_cuped": [
            planted["cuped"]["unadjusted"]["ci_low"],
            planted["cuped"]["unadjusted"]["ci_high"],
        ],
        "closed_loop": truth,
        "agrees_with_closed_loop": agrees,
    }

    # a broken assignment: a share of the treatment arm's exposures lost (a logging path that drops
    # one arm's users); how large a loss trips the check depends on the sample size, so several
    rng = np.random.default_rng(seed)
    draws = {x.unit: rng.random() for x in exposures}
    broken_rows = []
    for share in DROPPED_SHARES:
        kept = [x for x in exposures if not (x.variant == "treatment" and draws[x.unit] < share)]
        srm = analyze(exp, kept, events, end, alpha=alpha)["srm"]
        broken_rows.append(
            {"dropped_treatment_share": share, "srm": srm, "alarm": bool(srm and srm["alarm"])}
        )
    result["broken_assignment"] = broken_rows
    result["elapsed_s"] = round(time.perf_counter() - t0, 1)
    result["sessions"] = {"pre": pre, "post": post, "users": users}
    return result


def markdown(r: dict[str, Any]) -> str:
    aa, p, b = r["aa"], r["planted"], r["broken_assignment"]
    lo, hi = aa["false_positive_rate_ci95"]
    truth = p["closed_loop"]
    tci = truth["difference_ci95"] or [float("nan"), float("nan")]

    def ci(pair: list[float]) -> str:
        return f"[{pair[0]:+.3f}, {pair[1]:+.3f}]"

    aa_row = (
        f"| A/A false-positive rate, {aa['runs']} splits of {aa['units']} users (alpha {aa['alpha']})"
        f" | {aa['false_positive_rate']:.3f} [{lo:.3f}, {hi:.3f}] (without CUPED"
        f" {aa['false_positive_rate_without_cuped']:.3f}) | within [0.02, 0.08]:"
        f" {'yes' if aa['within_0.02_0.08'] else 'NO'} |"
    )
    planted = (
        f"| planted effect {p['treatment']} | {p['difference']:+.3f} {ci(p['ci95'])} on"
        f" {p['control_level']:.3f} (p {p['p_value']:.2g}; always-valid {ci(p['always_valid_ci95'])})"
        " | significant, with the closed loop's sign and size |"
    )
    return "\n".join(
        [
            "| check | result | bar |",
            "|---|---|---|",
            aa_row,
            f"| CUPED variance reduction ({METRIC}, A/A) | {aa['cuped_variance_reduction_mean']:.1%} | > 0 |",
            planted,
            f"| the closed loop ({truth['users']} users in both worlds) | {truth['difference']:+.3f}"
            f" {ci(tci)} | agrees: {'yes' if p['agrees_with_closed_loop'] else 'NO'} |",
            f"| CUPED on the planted experiment | {p['cuped_variance_reduction']:.1%} of variance removed;"
            f" CI without {ci(p['ci95_without_cuped'])} | narrower with CUPED |",
            *[
                f"| broken assignment: {row['dropped_treatment_share']:.0%} of the treatment's exposures lost"
                f" | SRM p {row['srm']['p_value']:.2g}"
                f" | alarm at p < 0.001: {'yes' if row['alarm'] else 'no'} |"
                for row in b
            ],
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="feedmix eval experiments", description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", default="demo", help="demo, full or a path")
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--pre", type=int, default=1200, help="sessions in the pre-period")
    ap.add_argument("--post", type=int, default=1200, help="sessions in the experiment period")
    ap.add_argument("--aa-runs", type=int, default=200)
    ap.add_argument(
        "--treatment", default=json.dumps(DEFAULT_TREATMENT), help="the planted change, JSON params"
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--state", help="keep the run's state here (default: a temporary directory)")
    ap.add_argument("--out", help="also write the JSON here")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="feedmix-exp-eval-") as tmp:
        result = run(
            Path(args.state) if args.state else Path(tmp),
            posts=args.posts,
            users=args.users,
            pre=args.pre,
            post=args.post,
            aa=args.aa_runs,
            treatment=json.loads(args.treatment),
            seed=args.seed,
            progress=not args.no_progress,
        )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

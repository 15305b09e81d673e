"""Off-policy evaluation of a candidate pipeline config on the service's own logs, against the truth the
simulator can measure.

1. **Log**: simulated sessions against the service as deployed, with every request in the served-feature
   log (items, positions, their online features, the logging propensity) and every reaction in the event
   log.
2. **Candidate pages**: the logged requests replayed under the candidate config
   (:mod:`feedmix.serving.shadow_replay`: the same users, the logged posts unseen again).
3. **Estimates** of the candidate's engagement per page (clicks + upvotes + comments on the page's posts):
   * DM: a reward model q(features, position) fitted on the logged rows (LightGBM, Poisson loss), summed
     over the candidate's page;
   * IPS and SNIPS over exact (item, position) matches: the served ranking is deterministic (propensity
     1, except the exploration slots), so a candidate's item counts only where it sits exactly where the
     log has it, weighted by 1 / propensity; SNIPS rescales those weights to average one per position.
     Where the candidate moves most items, these see little of it (their effective sample size says
     how little), which is why a deterministic logging policy needs a model;
   * DR: DM plus the matched positions' residuals (reward - q, q cross-fitted over requests), weighted.
   Intervals: percentile bootstrap over pages.
4. **Truth**: the same sessions (same seed, same users) served by the candidate config online; its
   engagement per page, and the logging policy's own, for reference.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.config import FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.eval.learning_loop import loop_config, run_sessions
from feedmix.events.backends import open_event_log
from feedmix.events.event_log import scan
from feedmix.serving.shadow_replay import logged_requests, replay
from feedmix.shadow.record import read_records

DEFAULT_CANDIDATE: dict[str, Any] = {"heuristic_scorer.w_freshness": 3.0}
ENGAGED = ("click", "upvote", "comment")
FOLDS = 4


def _rewards(event_log_url: str) -> dict[tuple[str, str], float]:
    """Engagement per (request, post) in the log."""
    log = open_event_log(event_log_url)
    try:
        out: dict[tuple[str, str], float] = {}
        for e in scan(log):
            if e.type in ENGAGED and e.request_id is not None:
                key = (e.request_id, e.post_id)
                out[key] = out.get(key, 0.0) + 1.0
        return out
    finally:
        log.close()


ItemFeatures = Callable[[str, list[str]], npt.NDArray[np.float64]]


def _item_features(corpus: RedditCorpus, users: int, seed: int) -> ItemFeatures:
    """Per post: log score, log comments, age in hours at the corpus clock, NSFW, and the user's
    affinity to its community (the profile serving reads): what serving knows of a post and a user."""
    from feedmix.corpus.community_graph import CommunityGraph
    from feedmix.events.post_ids import post_ids_to_int
    from feedmix.simulation.population import Population
    from feedmix.users.user_profiles import UserProfiles

    graph = CommunityGraph.from_corpus(corpus)
    profiles = UserProfiles(corpus, graph, Population.generate(corpus, graph, n_users=users, seed=seed))
    cache: dict[str, npt.NDArray[np.float32]] = {}

    def features(user: str, posts: list[str]) -> npt.NDArray[np.float64]:
        if user not in cache:
            cache[user] = profiles.profile(user, 20, 0.4)["user.affinity"]
        rows = corpus.rows_of(post_ids_to_int(posts))
        return np.column_stack(
            [
                np.log1p(np.maximum(corpus.score[rows], 0)),
                np.log1p(corpus.num_comments[rows]),
                (corpus.now - corpus.created[rows]) / 3600.0,
                corpus.over_18[rows].astype(np.float64),
                cache[user][corpus.community[rows]],
            ]
        ).astype(np.float64)

    return features


def _model(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], weight: npt.NDArray[np.float64] | None = None
) -> Any:
    import lightgbm as lgb

    params = {
        "objective": "poisson",
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_data_in_leaf": 50,
        "num_threads": 1,
        "verbose": -1,
        "seed": 0,
    }
    return lgb.train(params, lgb.Dataset(x, y, weight=weight), num_boost_round=150)


def _bootstrap(per_page: npt.NDArray[np.float64], n_boot: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(per_page), size=(n_boot, len(per_page)))
    means = per_page[idx].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def estimate(
    log_pages: list[dict[str, Any]],
    candidate_pages: dict[str, dict[str, Any]],
    rewards: dict[tuple[str, str], float],
    features: list[str],
    item_features: ItemFeatures,
    n_boot: int = 500,
    seed: int = 0,
    model_boot: int = 30,
) -> dict[str, Any]:
    """DM, IPS, SNIPS and DR of the candidate's engagement per page (see the module doc).

    ``log_pages``: the logged requests (columns over items); ``candidate_pages``: by request id, the
    candidate's ``item_ids`` and its ``features`` (name -> values per item); ``item_features(user,
    post_ids)``: what the reward model knows of a post beyond the logged online features (the corpus's
    quality signals and the user's affinity to its community), one row per post.
    """
    pages = [p for p in log_pages if str(p["request_id"][0]) in candidate_pages]
    # the logged rows: what q learns from
    blocks, rows_y, rows_page = [], [], []
    for k, p in enumerate(pages):
        rid, user = str(p["request_id"][0]), str(p["user_id"][0])
        posts = [str(x) for x in p["post_id"]]
        logged = np.asarray(
            [[float(p[f][i]) if f in p else np.nan for f in features] for i in range(len(posts))]
        )
        position = np.asarray(p["position"], dtype=np.float64)[:, None]
        blocks.append(np.hstack([logged.reshape(len(posts), -1), item_features(user, posts), position]))
        rows_y += [rewards.get((rid, post), 0.0) for post in posts]
        rows_page += [k] * len(posts)
    x, y, page_of = np.vstack(blocks), np.asarray(rows_y), np.asarray(rows_page)
    fold = np.arange(len(pages)) % FOLDS
    q_logged = np.zeros(len(y))
    for f in range(FOLDS):  # cross-fitted: no row's q comes from a model that saw its page
        held = fold[page_of] == f
        q_logged[held] = _model(x[~held], y[~held]).predict(x[held])

    # the candidate's pages as rows, with the page each belongs to
    cand_blocks, cand_page = [], []
    ips_pp, corr_pp, w_pp = (np.zeros(len(pages)) for _ in range(3))
    start = 0
    for k, p in enumerate(pages):
        n = len(p["post_id"])
        logged_items = [str(i) for i in p["post_id"]]
        cand = candidate_pages[str(p["request_id"][0])]
        m = len(cand["item_ids"])
        if m:
            online = np.asarray(
                [[cand["features"].get(f, [np.nan] * m)[i] for f in features] for i in range(m)],
                dtype=np.float64,
            ).reshape(m, -1)
            extra = item_features(str(p["user_id"][0]), list(cand["item_ids"]))
            cand_blocks.append(np.hstack([online, extra, np.arange(m, dtype=np.float64)[:, None]]))
            cand_page += [k] * m
        propensity = np.asarray(p["propensity"], dtype=np.float64)
        matched = np.array([i < m and cand["item_ids"][i] == logged_items[i] for i in range(n)], dtype=bool)
        w = np.where(matched, 1.0 / propensity, 0.0)
        r, q = y[start : start + n], q_logged[start : start + n]
        ips_pp[k] = float((w * r).sum())
        corr_pp[k] = float((w * (r - q)).sum())  # DR's correction where the log saw the candidate's choice
        w_pp[k] = float(w.sum())
        start += n
    cx, cpage = np.vstack(cand_blocks), np.asarray(cand_page)

    def dm_per_page(weights: npt.NDArray[np.float64] | None) -> npt.NDArray[np.float64]:
        model = _model(x, y, weights)
        return np.bincount(cpage, weights=model.predict(cx), minlength=len(pages)).astype(np.float64)

    dm_pp = dm_per_page(None)
    # DM's and DR's intervals refit the reward model on each resample of pages (a fixed model would
    # leave its own error out); IPS and SNIPS resample pages only
    rng = np.random.default_rng(seed)
    dm_boot, dr_boot = np.zeros(model_boot), np.zeros(model_boot)
    for b in range(model_boot):
        counts = np.bincount(rng.integers(0, len(pages), len(pages)), minlength=len(pages)).astype(np.float64)
        dm_b = dm_per_page(counts[page_of])
        dm_boot[b] = float((counts * dm_b).sum() / counts.sum())
        dr_boot[b] = float((counts * (dm_b + corr_pp)).sum() / counts.sum())
    positions = np.asarray([len(p["post_id"]) for p in pages], dtype=np.float64)
    # SNIPS: the weights rescaled to average one per logged position
    snips_scale = positions.sum() / w_pp.sum() if w_pp.sum() > 0 else np.nan
    matched_share = float(w_pp.sum() / positions.sum()) if positions.sum() else 0.0
    out: dict[str, Any] = {
        "pages": len(pages),
        "matched_position_share": matched_share,
        "model_refits": model_boot,
    }
    for name, per_page in (("IPS", ips_pp), ("SNIPS", ips_pp * snips_scale)):
        low, high = _bootstrap(per_page, n_boot, seed)
        out[name] = {"estimate": float(per_page.mean()), "ci_low": low, "ci_high": high}
    for name, point, boot in (("DM", dm_pp.mean(), dm_boot), ("DR", (dm_pp + corr_pp).mean(), dr_boot)):
        low, high = np.quantile(boot, [0.025, 0.975]) if model_boot >= 2 else (np.nan, np.nan)
        out[name] = {"estimate": float(point), "ci_low": float(low), "ci_high": float(high)}
    return out


#: candidate keys that are not params: a registered ranker version, or another source list
POLICY_KEYS = ("model_version", "sources")


def candidate_shadow(candidate: dict[str, Any], features: list[str]) -> dict[str, Any]:
    """The shadow config that replays a candidate: its params, and a pinned model version or another
    source list when it names them (a candidate policy is a config or a model version)."""
    shadow: dict[str, Any] = {
        "pipeline": "home",
        "sample_rate": 1e-6,
        "params": {k: v for k, v in candidate.items() if k not in POLICY_KEYS},
        "noise": False,
        "features": features,
    }
    shadow.update({k: candidate[k] for k in POLICY_KEYS if k in candidate})
    return shadow


def _candidate_pages(
    cfg: FeedmixConfig, corpus: RedditCorpus, candidate: dict[str, Any], features: list[str]
) -> dict[str, dict[str, Any]]:
    """The logged requests of ``cfg``'s served-feature log replayed under the candidate config."""
    from feedmix.serving.runtime import Runtime

    shadow = candidate_shadow(candidate, features)
    batch = dataclasses.replace(
        cfg, shadows={"ope": shadow}, index_watch_interval_s=0.0, ranking_watch_interval_s=0.0
    )
    runtime = Runtime.build(batch, corpus=corpus)
    try:
        path, _ = replay(runtime, "ope")
    finally:
        runtime.close()
    return {
        r.request_id: {
            "item_ids": list(r.arms["candidate"].item_ids),
            "features": dict(r.arms["candidate"].features),
        }
        for r in read_records(path)
    }


def estimate_from_logs(
    cfg: FeedmixConfig, candidate: dict[str, Any], n_boot: int = 500, seed: int = 0
) -> dict[str, Any]:
    """The estimators on a running server's own logs (``cfg``'s state dir: the demo's ``var/`` by
    default): what the candidate would do on the traffic the server really logged. No truth here: that
    is what the simulated run is for."""
    corpus = RedditCorpus.load(cfg.posts_path(), now=cfg.now)
    log_pages = list(logged_requests(cfg.feature_log_dir, "home"))
    if not log_pages:
        raise ValueError(f"no logged home requests in {cfg.feature_log_dir} (the served-feature log)")
    features = sorted({k for p in log_pages[:1] for k in p if k.startswith("f.")})
    candidate_pages = _candidate_pages(cfg, corpus, candidate, features)
    rewards = _rewards(cfg.event_log)
    item_features = _item_features(corpus, cfg.users, cfg.users_seed)
    est = estimate(log_pages, candidate_pages, rewards, features, item_features, n_boot=n_boot, seed=seed)
    logged = sum(rewards.get((str(p["request_id"][0]), str(x)), 0.0) for p in log_pages for x in p["post_id"])
    return {
        "candidate": candidate,
        "state_dir": cfg.state_dir,
        "logging_policy_engagement_per_page": logged / len(log_pages),
        "estimates": est,
    }


def run_simulated_ope(
    state_dir: Path,
    *,
    posts: str = "demo",
    users: int = 2000,
    sessions: int = 600,
    candidate: dict[str, Any] | None = None,
    seed: int = 5,
    n_boot: int = 500,
    progress: bool = True,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    candidate = dict(candidate or DEFAULT_CANDIDATE)
    for key in POLICY_KEYS:
        if key in candidate:  # the truth is the candidate served online, by params
            raise ValueError(f"candidate.{key}: the simulated table takes params only (use --logged)")
    corpus = RedditCorpus.load(FeedmixConfig(posts=posts).posts_path())
    cfg = loop_config(
        state_dir / "log", posts=posts, users=users, feature_log_sample_rate=1.0, ads_enabled=False
    )
    logged_report, _ = run_sessions(cfg, corpus, sessions, seed, run_id="log", progress=progress)
    log_pages = list(logged_requests(cfg.feature_log_dir, "home"))
    features = sorted({k for p in log_pages[:1] for k in p if k.startswith("f.")})
    candidate_pages = _candidate_pages(cfg, corpus, candidate, features)
    item_features = _item_features(corpus, users, cfg.users_seed)
    est = estimate(
        log_pages, candidate_pages, _rewards(cfg.event_log), features, item_features, n_boot=n_boot, seed=seed
    )
    truth_cfg = loop_config(state_dir / "truth", posts=posts, users=users, ads_enabled=False)
    truth, _ = run_sessions(
        truth_cfg, corpus, sessions, seed, run_id="truth", progress=progress, params=candidate
    )

    def per_page(rep: Any) -> float:
        return float((rep.clicks + rep.upvotes + rep.comments) / max(rep.pages, 1))

    online = per_page(truth)
    # the truth's own sampling error: engagement of each page the candidate served (pages nobody
    # reacted to count as 0), bootstrapped
    engaged: dict[str, float] = {}
    for (request_id, _), n in _rewards(truth_cfg.event_log).items():
        engaged[request_id] = engaged.get(request_id, 0.0) + n
    values = np.zeros(max(truth.pages, len(engaged)))
    values[: len(engaged)] = list(engaged.values())
    truth_low, truth_high = _bootstrap(values, n_boot, seed)
    for name in ("DM", "IPS", "SNIPS", "DR"):
        e = est[name]
        e["relative_error"] = abs(e["estimate"] - online) / online if online else None
        e["truth_inside_ci"] = bool(e["ci_low"] <= online <= e["ci_high"])
    return {
        "candidate": candidate,
        "sessions": sessions,
        "logging_policy_engagement_per_page": per_page(logged_report),
        "candidate_online_engagement_per_page": online,
        "candidate_online_ci95": [truth_low, truth_high],
        "estimates": est,
        "elapsed_s": round(time.perf_counter() - t0, 1),
    }


def markdown_table(r: dict[str, Any]) -> str:
    e = r["estimates"]
    lines = [
        f"Candidate {r['candidate']} on {e['pages']} logged pages ({r['sessions']} sessions); matched"
        f" (item, position) share {e['matched_position_share']:.1%}. Engagement per page: logging policy"
        f" {r['logging_policy_engagement_per_page']:.4f}, candidate online (the truth)"
        f" {r['candidate_online_engagement_per_page']:.4f} [{r['candidate_online_ci95'][0]:.4f},"
        f" {r['candidate_online_ci95'][1]:.4f}]. DM and DR intervals refit the reward model"
        f" {e['model_refits']} times.",
        "",
        "| estimator | estimate | 95% CI | relative error | truth in CI |",
        "|---|---:|---|---:|---|",
    ]
    for name in ("DM", "IPS", "SNIPS", "DR"):
        x = e[name]
        err = "" if x["relative_error"] is None else f"{x['relative_error']:.1%}"
        lines.append(
            f"| {name} | {x['estimate']:.4f} | [{x['ci_low']:.4f}, {x['ci_high']:.4f}] | {err}"
            f" | {'yes' if x['truth_inside_ci'] else 'no'} |"
        )
    return "\n".join(lines)


def logged_table(r: dict[str, Any]) -> str:
    e = r["estimates"]
    lines = [
        f"Candidate {r['candidate']} on {e['pages']} pages logged in {r['state_dir']}; matched (item, pos.)"
        f" share {e['matched_position_share']:.1%}; the logging policy's engagement per page"
        f" {r['logging_policy_engagement_per_page']:.4f}.",
        "",
        "| estimator | estimate | 95% CI |",
        "|---|---:|---|",
    ]
    for name in ("DM", "IPS", "SNIPS", "DR"):
        x = e[name]
        lines.append(f"| {name} | {x['estimate']:.4f} | [{x['ci_low']:.4f}, {x['ci_high']:.4f}] |")
    return "\n".join(lines)

"""``feedmix signals label|eval``: label posts given as JSON lines with any tier, and score every tier
against the labelled dev set."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from feedmix.jobs.cli_options import add_executor_options


def register(sub: Any) -> None:
    p = sub.add_parser("signals", help="content signals: label posts, evaluate the tiers")
    ss = p.add_subparsers(dest="signals", required=True)

    lab = ss.add_parser("label", help="label posts given as JSON lines (id, subreddit, title, selftext)")
    lab.add_argument("--in", dest="inp", required=True, help="posts.jsonl ('-' for standard input)")
    lab.add_argument("--out", required=True, help="labels.jsonl ('-' for standard output)")
    lab.add_argument(
        "--tier", default=None, help="rules, teacher, student, judge (default: the production tier, student)"
    )
    lab.set_defaults(func=_label)

    ev = ss.add_parser("eval", help="per-label P/R/F1, macro-F1, ECE and confusion on the dev set")
    ev.add_argument("--tier", action="append", dest="tiers", help="repeat; default every tier")
    ev.add_argument("--split", default="test", choices=["test", "tuning", "all"])
    ev.add_argument("--json", dest="json_out", help="also write the whole report here")
    ev.add_argument("--confusion", action="store_true", help="print the confusion matrices too")
    ev.add_argument(
        "--proxy",
        type=int,
        default=0,
        metavar="N",
        help="also score N public clothing reviews (rating as gold)",
    )
    ev.set_defaults(func=_eval)

    jd = ss.add_parser(
        "judge", help="label posts with an LLM judge (recorded by default, or --url), canaries and costs"
    )
    jd.add_argument("--in", dest="inp", required=True, help="posts.jsonl (id, subreddit, title, selftext)")
    jd.add_argument("--out", required=True, help="labels.jsonl: the judge's answers (schema label-v1)")
    jd.add_argument("--url", help="an OpenAI-compatible server (vLLM, Ollama, llama.cpp); default: recorded")
    jd.add_argument("--model", default="default", help="the model name the server expects")
    jd.add_argument("--api-key-env", default="FEEDMIX_JUDGE_API_KEY", help="env var holding the API key")
    jd.add_argument("--timeout", type=float, default=30.0, help="seconds per post")
    jd.add_argument("--price-in", type=float, default=0.0, help="USD per million prompt tokens")
    jd.add_argument("--price-out", type=float, default=0.0, help="USD per million completion tokens")
    jd.add_argument("--cache", help="SQLite cache of answers (default <state>/signals/judge_cache.sqlite)")
    jd.add_argument("--record", help="also append the answers here, for the recorded judge to replay")
    jd.add_argument("--canaries", type=int, default=10, help="known-answer posts slipped in (0: none)")
    jd.add_argument("--min-canary-accuracy", type=float, default=0.8)
    jd.set_defaults(func=_judge)

    ds = ss.add_parser(
        "judge-sample",
        help="the daily judged sample: the production tier against the judge on one day's posts (kappa)",
    )
    ds.add_argument("--day", help="UTC date YYYY-MM-DD (default: the newest day with --n posts)")
    ds.add_argument("--n", type=int, default=150, help="posts drawn from that day (seeded by the day)")
    ds.add_argument("--url", help="an OpenAI-compatible judge server; default: the recorded judge")
    ds.add_argument("--model", default="default")
    ds.add_argument("--timeout", type=float, default=30.0, help="seconds per post")
    ds.add_argument("--tier", default=None, help="the tier held to the judge (default: production)")
    ds.add_argument("--posts-out", help="also write the drawn posts here (JSON lines), to judge elsewhere")
    ds.add_argument("--data", default=None, help="posts file or data root (default ../shared/data)")
    ds.set_defaults(func=_judge_sample)

    pr = ss.add_parser(
        "promote", help="make a trained version current if its SLOs hold beside the current one"
    )
    pr.add_argument("--tier", required=True, choices=["teacher", "student"])
    pr.add_argument("--version", help="default: the newest trained version")
    pr.add_argument("--sample", type=int, default=5000, help="corpus posts both versions label (0: none)")
    pr.add_argument("--force", action="store_true", help="promote despite breaches (recorded as such)")
    pr.set_defaults(func=_promote)

    dr = ss.add_parser(
        "drift", help="each signal's label-mix PSI, the corpus' last week against the one before"
    )
    dr.add_argument("--tier", default=None, help="whose backfill (default: the production tier)")
    dr.set_defaults(func=_drift)

    ls_ = ss.add_parser("list", help="the signal registry: every signal, its version, status and producer")
    ls_.set_defaults(func=_list)
    sh = ss.add_parser("show", help="one signal: definition, producer and lineage, SLOs against measurements")
    sh.add_argument("name")
    sh.set_defaults(func=_show)

    tr = ss.add_parser("train", help="train the teacher (from the judge's labels) or distil the student")
    tr.add_argument("--tier", required=True, choices=["teacher", "student"])
    tr.add_argument("--teacher-version", help="the teacher backfill to distil from (default: newest teacher)")
    tr.add_argument("--threads", type=int, default=2, help="torch threads for the teacher's embeddings")
    tr.add_argument("--n-features", type=int, default=2**18, help="the student's hashed feature space")
    tr.add_argument(
        "--package", action="store_true", help="write the student into the package (float16), to ship it"
    )
    tr.set_defaults(func=_train)

    bf = ss.add_parser("backfill", help="label the whole corpus with a tier (resumable, idempotent)")
    bf.add_argument("--tier", default=None, help="rules, teacher, student (default: the production tier)")
    bf.add_argument("--data", default=None, help="posts file or data root (default ../shared/data)")
    bf.add_argument("--limit", type=int, default=None, help="only the first N posts (a trial run)")
    bf.add_argument("--shard-size", type=int, default=8192)
    add_executor_options(bf, partitions=False)
    bf.add_argument(
        "--online",
        default=os.environ.get("FEEDMIX_FEATURE_STORE", "none"),
        help="online store URL for the post_signals features (default $FEEDMIX_FEATURE_STORE, else none)",
    )
    bf.add_argument("--threads", type=int, default=2)
    bf.add_argument("--json", dest="json_out", help="also write the report here")
    bf.set_defaults(func=_backfill)


def _label(args: argparse.Namespace) -> int:
    from feedmix.signals.labelers import make_labeler
    from feedmix.signals.posts import PostError, Posts

    try:
        labeler = make_labeler(args.tier)
        if args.inp == "-":
            posts = Posts.from_records((json.loads(x) for x in sys.stdin if x.strip()), where="stdin record")
        else:
            posts = Posts.read_jsonl(args.inp)
    except (PostError, ValueError, FileNotFoundError) as e:
        print(f"feedmix signals label: {e}", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        out = sys.stdout if args.out == "-" else stack.enter_context(open(args.out, "w", encoding="utf-8"))
        batch = 2048
        for start in range(0, len(posts), batch):
            chunk = posts.take(range(start, min(start + batch, len(posts))))
            for rec in labeler.label(chunk).records():
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"labelled {len(posts)} posts with {labeler.version}", file=sys.stderr)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from feedmix.signals.eval_report import evaluate_tiers, format_report

    try:
        report = evaluate_tiers(args.tiers, split=args.split)
    except (FileNotFoundError, ValueError) as e:
        print(f"feedmix signals eval: {e}", file=sys.stderr)
        return 2
    if args.proxy:
        report["proxy"] = _proxy(report, args.proxy)
    print(format_report(report, confusion=args.confusion))
    from feedmix.signals.registry import save_report
    from feedmix.signals.signal_models import state_dir

    save_report(state_dir(), f"eval-{args.split}", report)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(report, f, indent=1)
    return 0


def _train(args: argparse.Namespace) -> int:
    from feedmix.signals import training

    if args.tier == "teacher":
        training.train_teacher(threads=args.threads, log=lambda m: print(m, file=sys.stderr))
        return 0
    from feedmix.signals.signal_archive import SignalArchive
    from feedmix.signals.signal_models import model_dir, model_meta, read_names, state_dir

    meta = model_meta(model_dir("teacher", args.teacher_version))
    teacher_version = f"teacher-{meta['version']}"
    archive = SignalArchive(state_dir(), "teacher", teacher_version)
    teacher = archive.read()
    posts = _corpus(None)
    row = {pid: i for i, pid in enumerate(posts.ids)}
    missing = [pid for pid in teacher.ids if pid not in row]
    if missing:
        print(f"feedmix signals train: {len(missing)} teacher ids are not in the corpus", file=sys.stderr)
        return 2
    aligned = posts.take(row[pid] for pid in teacher.ids)
    print(f"distilling from {len(teacher)} teacher labels ({teacher_version})", file=sys.stderr)
    names = read_names(model_dir("teacher", meta["version"]) / "names.tsv")
    training.distill_student(
        teacher,
        aligned,
        teacher_version,
        names,
        n_features=args.n_features,
        log=lambda m: print(m, file=sys.stderr),
        packaged=args.package,
    )
    return 0


def _corpus(data: str | None) -> Any:
    from feedmix.corpus.reddit_corpus import default_data_dir
    from feedmix.signals.corpus_posts import read_corpus_posts

    return read_corpus_posts(data or default_data_dir())


def _backfill(args: argparse.Namespace) -> int:
    from feedmix.jobs.cli_options import executor_from_args
    from feedmix.signals.backfill import backfill
    from feedmix.signals.labelers import make_labeler
    from feedmix.signals.signal_archive import SignalArchive
    from feedmix.signals.signal_models import state_dir

    try:
        labeler = make_labeler(args.tier)
    except (ValueError, FileNotFoundError) as e:
        print(f"feedmix signals backfill: {e}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    posts = _corpus(args.data)
    if args.limit is not None:
        posts = posts.take(range(min(args.limit, len(posts))))
    read_s = time.perf_counter() - t0
    online = None
    if args.online and args.online != "none":
        from feedmix.features.backends import open_online_store
        from feedmix.features.signal_definitions import signal_registry

        online = open_online_store(args.online, signal_registry())
    archive = SignalArchive(state_dir(), labeler.name, labeler.version)
    try:
        executor = executor_from_args(args)
        try:
            report = backfill(
                labeler,
                posts,
                archive,
                shard_size=args.shard_size,
                online=online,
                online_name=args.online,
                executor=executor,
            ).as_dict()
        finally:
            executor.close()
    except ValueError as e:
        print(f"feedmix signals backfill: {e}", file=sys.stderr)
        return 2
    report["posts_labelled_total"] = archive.rows()
    report["read_corpus_seconds"] = round(read_s, 2)
    report["wall_seconds"] = round(time.perf_counter() - t0, 2)
    report["archive"] = str(archive.dir)
    print(json.dumps(report, indent=1))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(report, f, indent=1)
    if args.limit is None:
        from feedmix.signals.registry import save_report

        save_report(state_dir(), f"backfill-{labeler.name}", report)
    if online is not None:
        online.close()
    return 0 if report["shards_failed"] == 0 and report["online_shards_failed"] == 0 else 1


def _list(args: argparse.Namespace) -> int:
    from feedmix.signals.registry import DEFINITIONS, describe
    from feedmix.signals.signal_models import state_dir

    rows = [["signal", "version", "status", "owner", "producer", "slo"]]
    for d in DEFINITIONS:
        info = describe(d.name, state_dir())
        breached = [k for k, v in info["slo_status"].items() if v.startswith("BREACHED")]
        measured = [k for k, v in info["slo_status"].items() if v != "not measured"]
        slo = f"breached: {', '.join(breached)}" if breached else ("ok" if measured else "not measured")
        rows.append([d.name, d.version, d.status, d.owner, info["producer"]["model_version"] or "-", slo])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    return 0


def _show(args: argparse.Namespace) -> int:
    from feedmix.signals.registry import describe
    from feedmix.signals.signal_models import state_dir

    try:
        print(json.dumps(describe(args.name, state_dir()), indent=1))
    except KeyError as e:
        print(f"feedmix signals show: {e.args[0]}", file=sys.stderr)
        return 2
    return 0


def _judge(args: argparse.Namespace) -> int:
    from feedmix.signals.devset import DevSet
    from feedmix.signals.judges.canaries import canary_accuracy, pick_canaries
    from feedmix.signals.judges.judge import Judge
    from feedmix.signals.judges.prompt import load_prompt
    from feedmix.signals.judges.recorded_judge import RecordedJudge, record
    from feedmix.signals.posts import PostError, Posts
    from feedmix.signals.signal_models import state_dir

    try:
        posts = Posts.read_jsonl(args.inp)
    except (PostError, FileNotFoundError) as e:
        print(f"feedmix signals judge: {e}", file=sys.stderr)
        return 2
    prompt = load_prompt()
    judge: Judge
    closer = None
    if args.url:
        from feedmix.signals.judges.http_judge import HttpJudge, HttpJudgeConfig
        from feedmix.signals.judges.judge_cache import JudgeCache

        config = HttpJudgeConfig(
            args.url,
            args.model,
            timeout_s=args.timeout,
            api_key=os.environ.get(args.api_key_env),
            price_input_per_1m=args.price_in,
            price_output_per_1m=args.price_out,
        )
        cache = JudgeCache(args.cache or state_dir() / "signals" / "judge_cache.sqlite")
        http = HttpJudge(config, cache)
        judge, closer = http, http.close
    else:
        judge = RecordedJudge()
    canaries, gold = pick_canaries(DevSet.load(), args.canaries) if args.canaries else (posts.take([]), {})
    asked = Posts.concat(posts, canaries)
    t0 = time.perf_counter()
    answers = judge.judge(asked, prompt)
    wall = time.perf_counter() - t0
    if closer is not None:
        closer()
    mine = answers[: len(posts)]
    errors: dict[str, int] = {}
    for j in mine:
        if j.error is not None:
            key = j.error.split(":")[0]
            errors[key] = errors.get(key, 0) + 1
    with open(args.out, "w", encoding="utf-8") as f:
        for j in mine:
            if j.label is not None:
                f.write(json.dumps(j.label, ensure_ascii=False) + "\n")
    if args.record:
        record(mine, Path(args.record))
    canary = canary_accuracy(answers[len(posts) :], gold) if gold else None
    trusted = canary is None or (canary["accuracy"] or 0.0) >= args.min_canary_accuracy
    summary = {
        "judge": judge.name,
        "prompt": {"name": prompt.name, "digest": prompt.digest},
        "posts": len(posts),
        "answered": sum(1 for j in mine if j.ok),
        "errors": errors,
        "cached": sum(1 for j in mine if j.cached),
        "cost_usd": round(sum(j.cost_usd for j in answers), 6),
        "seconds": round(wall, 3),
        "canaries": canary,
        "trusted": trusted,
    }
    print(json.dumps(summary, indent=1))
    return 0 if trusted else 1


def _judge_sample(args: argparse.Namespace) -> int:
    from feedmix.corpus.reddit_corpus import RedditCorpus, default_data_dir
    from feedmix.signals import judged_sample
    from feedmix.signals.corpus_posts import read_corpus_posts
    from feedmix.signals.judge_labeler import JudgeLabeler
    from feedmix.signals.judges.judge import Judge
    from feedmix.signals.judges.recorded_judge import RecordedJudge
    from feedmix.signals.labelers import make_labeler
    from feedmix.signals.registry import save_report
    from feedmix.signals.signal_models import state_dir

    data = args.data or default_data_dir()
    corpus = RedditCorpus.load(data)
    day = args.day or judged_sample.newest_day(corpus.created, args.n)
    try:
        rows = judged_sample.pick(corpus.created, day, args.n)
    except ValueError as e:
        print(f"feedmix signals judge-sample: {e}", file=sys.stderr)
        return 2
    wanted = {corpus.id_str[r] for r in rows}
    every = read_corpus_posts(data)
    posts = every.take([i for i, pid in enumerate(every.ids) if pid in wanted])
    if args.posts_out:
        with open(args.posts_out, "w", encoding="utf-8") as f:
            for i, pid in enumerate(posts.ids):
                rec = {
                    "id": pid,
                    "subreddit": posts.subreddit[i],
                    "title": posts.title[i],
                    "selftext": posts.selftext[i],
                    "over_18": bool(posts.over_18[i]),
                }
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    judge: Judge
    closer = None
    if args.url:
        from feedmix.signals.judges.http_judge import HttpJudge, HttpJudgeConfig
        from feedmix.signals.judges.judge_cache import JudgeCache

        http = HttpJudge(
            HttpJudgeConfig(args.url, args.model, timeout_s=args.timeout),
            JudgeCache(state_dir() / "signals" / "judge_cache.sqlite"),
        )
        judge, closer = http, http.close
    else:
        judge = RecordedJudge()
    production = make_labeler(args.tier)
    judged = JudgeLabeler(judge).label(posts)
    if closer is not None:
        closer()
    report: dict[str, Any] = {
        "day": day,
        "tier": production.name,
        "model_version": production.version,
        "judge": judge.name,
        "posts_that_day": len(judged_sample.pick(corpus.created, day, len(corpus.created))),
    }
    report.update(judged_sample.agreement(production.label(posts), judged))
    save_report(state_dir(), f"judge-daily-{production.name}", report)
    print(json.dumps(report, indent=1))
    return 0


def _proxy(report: dict[str, Any], n: int) -> dict[str, Any]:
    from feedmix.corpus.reddit_corpus import default_data_dir
    from feedmix.signals.labelers import make_labeler
    from feedmix.signals.proxy_eval import load_reviews, score_proxy

    posts, rating, recommended = load_reviews(default_data_dir(), n)
    # the judge answers only what was recorded, and no review was: it has nothing to say here
    tiers = [t for t in report["tiers"] if t != "judge"]
    return {tier: score_proxy(make_labeler(tier), posts, rating, recommended) for tier in tiers}


def _promote(args: argparse.Namespace) -> int:
    from feedmix.signals.promotion import promote
    from feedmix.signals.signal_models import state_dir

    sample = None
    if args.sample:
        import numpy as np

        corpus = _corpus(None)
        rows = np.random.default_rng(0).choice(len(corpus), size=min(args.sample, len(corpus)), replace=False)
        sample = corpus.take(sorted(rows.tolist()))
    try:
        report = promote(args.tier, args.version, state_dir(), sample, force=args.force)
    except FileNotFoundError as e:
        print(f"feedmix signals promote: {e}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1))
    return 0 if report.get("promoted") or report["decision"] == "already current" else 1


def _drift(args: argparse.Namespace) -> int:
    import numpy as np

    from feedmix.signals.drift import weekly_drift
    from feedmix.signals.labelers import make_labeler
    from feedmix.signals.post_signal_table import PostSignalTable
    from feedmix.signals.registry import save_report
    from feedmix.signals.signal_archive import SignalArchive
    from feedmix.signals.signal_models import state_dir

    labeler = make_labeler(args.tier)
    archive = SignalArchive(state_dir(), labeler.name, labeler.version)
    if not archive.shards():
        print(
            f"feedmix signals drift: no backfill of {labeler.version}: run feedmix signals backfill",
            file=sys.stderr,
        )
        return 2
    from feedmix.corpus.reddit_corpus import RedditCorpus, default_data_dir

    corpus = RedditCorpus.load(default_data_dir())
    table = PostSignalTable.from_signals(archive.read(), corpus.id_str)
    report = {"tier": labeler.name, "model_version": labeler.version}
    report.update(weekly_drift(table, corpus.created, float(np.max(corpus.created))))
    save_report(state_dir(), f"drift-{labeler.name}", report)
    print(json.dumps(report, indent=1))
    return 0

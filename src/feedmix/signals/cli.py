"""``feedmix signals label|eval``: label posts given as JSON lines with any tier, and score every tier
against the labelled dev set."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("signals", help="content signals: label posts, evaluate the tiers")
    ss = p.add_subparsers(dest="signals", required=True)

    lab = ss.add_parser("label", help="label posts given as JSON lines (id, subreddit, title, selftext)")
    lab.add_argument("--in", dest="inp", required=True, help="posts.jsonl ('-' for standard input)")
    lab.add_argument("--out", required=True, help="labels.jsonl ('-' for standard output)")
    lab.add_argument("--tier", default=None, help="rules (default: the production tier)")
    lab.set_defaults(func=_label)

    ev = ss.add_parser("eval", help="per-label P/R/F1, macro-F1, ECE and confusion on the dev set")
    ev.add_argument("--tier", action="append", dest="tiers", help="repeat; default every tier")
    ev.add_argument("--split", default="test", choices=["test", "tuning", "all"])
    ev.add_argument("--json", dest="json_out", help="also write the whole report here")
    ev.add_argument("--confusion", action="store_true", help="print the confusion matrices too")
    ev.set_defaults(func=_eval)


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

    report = evaluate_tiers(args.tiers, split=args.split)
    print(format_report(report, confusion=args.confusion))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(report, f, indent=1)
    return 0

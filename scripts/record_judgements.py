"""Stores judgements made outside the code (labels an LLM wrote under a prompt, e.g. through a chat
session or a batch API) as a recording the RecordedJudge replays: each label is checked against the
schema and the post's text, keyed by the prompt's digest and the post id.

    python scripts/record_judgements.py --judge claude-agent --prompt label-v1 \\
        --posts src/feedmix/signals/labelled/train_posts.jsonl --labels /tmp/labels/judge_*.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from feedmix.signals.judges.judge import Judgement
from feedmix.signals.judges.prompt import load_prompt
from feedmix.signals.judges.recorded_judge import RECORDINGS_DIR, record
from feedmix.signals.label_schema import check_label
from feedmix.signals.posts import Posts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--judge", required=True, help="who answered (a model name)")
    ap.add_argument("--prompt", default="label-v1")
    ap.add_argument("--posts", nargs="+", required=True)
    ap.add_argument("--labels", nargs="+", required=True)
    ap.add_argument("--out", default=None, help="default labelled/judgements/<prompt>.<judge>.jsonl")
    args = ap.parse_args()
    prompt = load_prompt(args.prompt)
    posts = Posts.from_records(
        [json.loads(x) for p in args.posts for x in Path(p).read_text().splitlines() if x.strip()]
    )
    row_of = {pid: i for i, pid in enumerate(posts.ids)}
    judgements = []
    for path in args.labels:
        for line in Path(path).read_text().splitlines():
            if not line.strip():
                continue
            label = json.loads(line)
            i = row_of[label["id"]]
            check_label(label, posts.text(i), label["id"])
            judgements.append(Judgement(label["id"], args.judge, prompt.digest, label))
    out = Path(args.out) if args.out else RECORDINGS_DIR / f"{args.prompt}.{args.judge}.jsonl"
    if out.exists():
        out.unlink()
    n = record(judgements, out)
    print(json.dumps({"recorded": n, "prompt_digest": prompt.digest, "out": str(out)}))


if __name__ == "__main__":
    main()

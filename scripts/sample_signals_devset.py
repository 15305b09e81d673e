"""Draws the signals dev set: 420 Reddit posts, two thirds from shopping, tech, hobby and gaming
communities and a third from the rest, with a fixed seed, so anyone re-running it gets the same posts.

Each post is written with the fields a labeller reads (community, title, selftext, link domain, the
NSFW flag) and its split: a post is in the ``test`` part when a seeded hash of its id says so, which
keeps the split stable if the set ever grows. Labels live in a separate file written by reading each
post under ../shared/signals/CODEBOOK.md (and ``src/feedmix/signals/CODEBOOK_ADDITIONS.md``).

    python scripts/sample_signals_devset.py [--data ../shared/data] [--out src/feedmix/signals/labelled]

The judge's training pool (posts an LLM labels so the teacher's heads have more than the tuning part to
learn from) is drawn by the same script with another seed, never overlapping the dev set:

    python scripts/sample_signals_devset.py --name train --seed 15 --commercial 1200 --rest 600 \
        --exclude src/feedmix/signals/labelled/dev_posts.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv

SEED = 14
N_COMMERCIAL = 280
N_REST = 140
#: communities where people talk about things they buy, use, build or play
COMMERCIAL_COMMUNITIES = sorted(
    [
        "Frugal",
        "Android",
        "malefashionadvice",
        "apple",
        "shutupandtakemymoney",
        "gadgets",
        "photography",
        "guns",
        "buildapc",
        "GameDeals",
        "linux",
        "beer",
        "iphone",
        "cars",
        "Guitar",
        "running",
        "MakeupAddiction",
        "BuyItForLife",
        "battlestations",
        "frugalmalefashion",
        "TheBestOfAmazon",
        "Homebrewing",
        "Steam",
        "PS3",
        "gardening",
        "Coffee",
        "hardware",
        "CampingandHiking",
        "boardgames",
        "Autos",
        "xbox360",
        "wicked_edge",
        "femalefashionadvice",
        "woodworking",
        "RedditLaqueristas",
        "vinyl",
        "techsupport",
        "headphones",
        "buildapcforme",
        "buildapcsales",
        "FrugalFemaleFashion",
        "androidapps",
        "AndroidGaming",
        "AndroidQuestions",
        "applehelp",
        "iosgaming",
        "tea",
        "wine",
        "camping",
        "SkincareAddiction",
        "MechanicalKeyboards",
        "SuggestALaptop",
        "hometheater",
        "audiophile",
        "guitarpedals",
        "HomeImprovement",
        "Watches",
        "Sneakers",
        "pcmasterrace",
        "pcgaming",
        "steamdeals",
        "gamingsuggestions",
        "linux_gaming",
        "macgaming",
        "nintendo",
        "PS4",
        "xbox",
        "xboxone",
        "gamingpc",
        "lowendgaming",
        "freegames",
        "GiftofGames",
        "bicycling",
        "motorcycles",
        "magicTCG",
        "lego",
        "DIY",
        "Fitness",
        "gaming",
        "Games",
        "google",
        "minimalism",
        "Cooking",
    ]
)
TEXT_CAP = 4000  # characters of selftext kept for the labeller; the rest is cut with a marker


def split_of(post_id: str) -> str:
    h = int.from_bytes(hashlib.sha256(f"signals-dev-{SEED}:{post_id}".encode()).digest()[:8], "big")
    return "test" if h % 2 == 0 else "tuning"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parents[1] / "src/feedmix/signals/labelled")
    )
    ap.add_argument("--name", default="dev", help="writes <name>_posts.jsonl")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--commercial", type=int, default=N_COMMERCIAL)
    ap.add_argument("--rest", type=int, default=N_REST)
    ap.add_argument("--exclude", action="append", default=[], help="a posts file whose ids are not drawn")
    args = ap.parse_args()
    excluded = {
        json.loads(x)["id"] for path in args.exclude for x in Path(path).read_text().splitlines() if x.strip()
    }
    cols = ["id", "subreddit", "title", "selftext", "domain", "is_self", "over_18"]
    table = pacsv.read_csv(
        Path(args.data) / "reddit" / "reddit_posts.csv.gz",
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(include_columns=cols),
    ).to_pydict()
    # the scrape holds a few posts twice: keep each id's first row so no post is drawn twice
    _, first = np.unique(np.array(table["id"], dtype=object), return_index=True)
    table = {k: [v[i] for i in np.sort(first)] for k, v in table.items()}
    n = len(table["id"])
    commercial = set(COMMERCIAL_COMMUNITIES)
    in_set = np.array([s in commercial for s in table["subreddit"]])
    allowed = np.array([i not in excluded for i in table["id"]])
    rng = np.random.default_rng(args.seed)
    rows = np.concatenate(
        [
            rng.choice(np.flatnonzero(in_set & allowed), args.commercial, replace=False),
            rng.choice(np.flatnonzero(~in_set & allowed), args.rest, replace=False),
        ]
    )
    rows.sort()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{args.name}_posts.jsonl", "w") as f:
        for r in rows:
            text = table["selftext"][r] or ""
            if len(text) > TEXT_CAP:
                text = text[:TEXT_CAP] + " [...]"
            post = {
                "id": table["id"][r],
                "subreddit": table["subreddit"][r],
                "title": table["title"][r] or "",
                "selftext": text,
                "domain": table["domain"][r] or "",
                "over_18": bool(table["over_18"][r]),
                "pool": "commercial" if in_set[r] else "rest",
                "split": split_of(table["id"][r]) if args.name == "dev" else args.name,
            }
            f.write(json.dumps(post, ensure_ascii=False) + "\n")
    print(
        json.dumps(
            {"posts": len(rows), "of": n, "seed": args.seed, "out": str(out / f"{args.name}_posts.jsonl")}
        )
    )


if __name__ == "__main__":
    main()

"""Cut the demo slice shipped in src/feedmix/demo_data from the full Reddit set.

Per subreddit it keeps the 50 highest-scored and the 50 newest posts (fewer where a subreddit has
fewer), and shortens self text to 300 characters, so the slice is small but every community has
both evergreen and fresh posts. The data is public domain (ODC PDDL 1.0, see LICENSE there).

    python scripts/make_demo_slice.py [--data-dir ../shared/data] [--per-community 50]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

OUT = Path(__file__).resolve().parents[1] / "src" / "feedmix" / "demo_data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--per-community", type=int, default=50)
    args = ap.parse_args()
    src = Path(args.data_dir) / "reddit"
    table = pacsv.read_csv(
        src / "reddit_posts.csv.gz", parse_options=pacsv.ParseOptions(newlines_in_values=True)
    )
    sub = pc.dictionary_encode(table["subreddit"]).combine_chunks().indices.to_numpy(zero_copy_only=False)
    score = table["score"].to_numpy()
    created = table["created_utc"].to_numpy()
    keep = np.zeros(len(sub), dtype=bool)
    k = args.per_community
    for s in np.unique(sub):
        rows = np.flatnonzero(sub == s)
        keep[rows[np.argsort(-score[rows], kind="stable")[:k]]] = True
        keep[rows[np.argsort(-created[rows], kind="stable")[:k]]] = True
    sliced = table.filter(pa.array(keep))
    selftext = pc.utf8_slice_codeunits(sliced["selftext"].fill_null(""), 0, 300)
    sliced = sliced.set_column(sliced.column_names.index("selftext"), "selftext", selftext)
    OUT.mkdir(parents=True, exist_ok=True)
    import gzip

    with gzip.open(OUT / "reddit_posts.csv.gz", "wb", compresslevel=9) as fh:
        pacsv.write_csv(sliced, fh)
    shutil.copy(src / "subreddits.json", OUT / "subreddits.json")
    shutil.copy(src / "LICENSE", OUT / "LICENSE")
    print(f"wrote {sliced.num_rows} posts to {OUT}")


if __name__ == "__main__":
    main()

"""The Reddit corpus as posts to label: id, community, title, selftext and the NSFW flag of every post in
the scrape's order (duplicate ids keep their first row), read once with Arrow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from feedmix.corpus.reddit_corpus import resolve_posts_path
from feedmix.signals.posts import Posts

_COLUMNS = ["id", "subreddit", "title", "selftext", "over_18"]


def read_corpus_posts(path: str | Path) -> Posts:
    table = pacsv.read_csv(
        resolve_posts_path(path),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            include_columns=_COLUMNS, column_types={"id": pa.string(), "selftext": pa.string()}
        ),
    )
    ids = table["id"].to_pylist()
    _, first = np.unique(np.array(ids, dtype=object), return_index=True)
    if len(first) != len(ids):
        table = table.take(pa.array(np.sort(first)))
    over = table["over_18"]
    flags = (
        over.to_numpy(zero_copy_only=False)
        if pa.types.is_boolean(over.type)
        else pc.equal(pc.utf8_lower(pc.cast(over, pa.string())), "true").to_numpy(zero_copy_only=False)
    )
    return Posts(
        [str(x) for x in table["id"].to_pylist()],
        [str(x or "") for x in table["subreddit"].to_pylist()],
        [str(x or "") for x in table["title"].to_pylist()],
        [str(x or "") for x in table["selftext"].to_pylist()],
        np.asarray(flags, dtype=bool),
    )

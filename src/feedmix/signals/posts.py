"""Posts as the labellers read them: columns of id, community, title and selftext (plus the NSFW flag a
scrape may carry), parsed from JSON lines with an error that names the line and the field."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

#: longest text a model reads; the rest of a longer post is cut (and the post is marked ``too_long``)
MAX_CHARS = 40_000
_ID_MAX = 64


class PostError(ValueError):
    """A post that cannot be read; the message names the field (and the line, when read from a file)."""


@dataclass
class Posts:
    ids: list[str]
    subreddit: list[str]
    title: list[str]
    selftext: list[str]
    over_18: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        n = len(self.ids)
        if len(self.over_18) != n:
            self.over_18 = np.zeros(n, dtype=bool) if len(self.over_18) == 0 else self.over_18
        if not (len(self.subreddit) == len(self.title) == len(self.selftext) == len(self.over_18) == n):
            raise PostError("posts: columns differ in length")

    def __len__(self) -> int:
        return len(self.ids)

    def text(self, i: int) -> str:
        """What a labeller reads: the title, a blank line, the selftext (spans index into this)."""
        return f"{self.title[i]}\n\n{self.selftext[i]}" if self.selftext[i] else self.title[i]

    def texts(self) -> list[str]:
        return [self.text(i) for i in range(len(self))]

    def take(self, rows: Iterable[int]) -> Posts:
        r = list(rows)
        return Posts(
            [self.ids[i] for i in r],
            [self.subreddit[i] for i in r],
            [self.title[i] for i in r],
            [self.selftext[i] for i in r],
            self.over_18[r] if r else np.zeros(0, dtype=bool),
        )

    @classmethod
    def concat(cls, *parts: Posts) -> Posts:
        return cls(
            [x for p in parts for x in p.ids],
            [x for p in parts for x in p.subreddit],
            [x for p in parts for x in p.title],
            [x for p in parts for x in p.selftext],
            np.concatenate([p.over_18 for p in parts]) if parts else np.zeros(0, dtype=bool),
        )

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]], where: str = "post") -> Posts:
        ids: list[str] = []
        subs: list[str] = []
        titles: list[str] = []
        texts: list[str] = []
        nsfw: list[bool] = []
        for n, rec in enumerate(records, 1):
            at = f"{where} {n}"
            if not isinstance(rec, Mapping):
                raise PostError(f"{at}: expected a JSON object, got {type(rec).__name__}")
            pid = rec.get("id")
            if not isinstance(pid, str | int) or isinstance(pid, bool) or not str(pid).strip():
                raise PostError(f"{at}: field 'id' is required (a non-empty string)")
            if len(str(pid)) > _ID_MAX:
                raise PostError(f"{at}: field 'id' is longer than {_ID_MAX} characters")
            for name in ("subreddit", "title", "selftext"):
                value = rec.get(name, "")
                if value is not None and not isinstance(value, str):
                    raise PostError(f"{at}: field {name!r} must be a string, got {type(value).__name__}")
            flag = rec.get("over_18", False)
            if not isinstance(flag, bool):
                raise PostError(f"{at}: field 'over_18' must be true or false")
            ids.append(str(pid))
            subs.append(rec.get("subreddit") or "")
            titles.append(rec.get("title") or "")
            texts.append(rec.get("selftext") or "")
            nsfw.append(flag)
        return cls(ids, subs, titles, texts, np.array(nsfw, dtype=bool))

    @classmethod
    def read_jsonl(cls, path: str | Path) -> Posts:
        return cls.from_records(_jsonl(Path(path)), where=f"{path} record")


def _jsonl(path: Path) -> Iterator[Any]:
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as e:
                raise PostError(f"{path} line {n}: not JSON ({e.msg})") from None

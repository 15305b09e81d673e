"""Product and brand names (``brands.tsv``: surface, normalised brand, category) found in text on whole
words, ignoring case and punctuation inside a name.

A name followed by a model designation ("Sennheiser HD600", "Galaxy S4", "Nexus 7") is extended over it,
since the codebook wants the product as written, not only its brand.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from feedmix.signals.codebook import CATEGORIES

GAZETTEER_PATH = Path(__file__).with_name("brands.tsv")
#: a model designation right after a name: a token with a digit, or a few known suffixes
_TOKEN = re.compile(r"\w+")
_MODEL = re.compile(
    r"(?:-\d[\w.]{0,8})?"  # attached: "i7-2600"
    r"(?: (?:[A-Za-z]{0,4}-?\d[\w.-]{0,8}|I{1,3}V?|IV|VI{0,3}|Pro|Plus|Mini|Max|XL|Ultra|Air|Edition))*"
)
#: a title's subtitle after a colon ("Counter Strike: Global Offensive"): capitalised words, for titles only
_SUBTITLE = re.compile(r": (?:[A-Z0-9][\w'&-]*(?: (?:of|the|and|[A-Z0-9][\w'&-]*)){0,4})")
_TITLED = frozenset({"Video Games & Software", "Media (books, movies, music)"})


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    text: str
    brand: str
    category: str


class BrandGazetteer:
    """Names matched token by token: the text is cut into word tokens once, and only a token that starts
    some name is looked at further (a dict lookup), so the cost grows with the text, not with the
    number of names. Punctuation inside a name is not required to match ("Coca-Cola", "Coca Cola")."""

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        self.entries: dict[tuple[str, ...], tuple[str, str]] = {}
        for surface, brand, category in rows:
            if category not in CATEGORIES:
                raise ValueError(
                    f"gazetteer: {surface!r} has category {category!r}, not one of the codebook's"
                )
            key = tuple(t.lower() for t in _TOKEN.findall(surface))
            if key:
                self.entries.setdefault(key, (brand, category))
        #: first token -> the names starting with it, longest first
        self._by_first: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
        for key, (brand, category) in self.entries.items():
            self._by_first.setdefault(key[0], []).append((key, brand, category))
        for names in self._by_first.values():
            names.sort(key=lambda e: len(e[0]), reverse=True)

    def __len__(self) -> int:
        return len(self.entries)

    def find(self, text: str) -> list[Mention]:
        tokens = list(_TOKEN.finditer(text))
        words = [t.group().lower() for t in tokens]
        out: list[Mention] = []
        i, n = 0, len(words)
        while i < n:
            names = self._by_first.get(words[i])
            hit = None
            if names is not None:
                for key, brand, category in names:
                    if tuple(words[i : i + len(key)]) == key:
                        hit = (key, brand, category)
                        break
            if hit is None:
                i += 1
                continue
            key, brand, category = hit
            start, end = tokens[i].start(), tokens[i + len(key) - 1].end()
            tail = _MODEL.match(text, end)
            if tail:
                end = tail.end()  # the model designation is part of this mention, not another one
            if category in _TITLED and (sub := _SUBTITLE.match(text, end)) is not None:
                end = sub.end()
            out.append(Mention(start, end, text[start:end], brand, category))
            i += len(key)
            while i < n and tokens[i].start() < end:
                i += 1
        return out

    @classmethod
    def read(cls, path: Path = GAZETTEER_PATH) -> BrandGazetteer:
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.reader(f, delimiter="\t")
            header = next(reader)
            if header != ["surface", "brand", "category"]:
                raise ValueError(f"{path}: header must be surface, brand, category; got {header}")
            return cls([(r[0], r[1], r[2]) for r in reader if r and r[0].strip()])


@cache
def default_gazetteer() -> BrandGazetteer:
    return BrandGazetteer.read()

"""Product and brand names (``brands.tsv``: surface, normalised brand, category), found in text by one
compiled alternation, longest name first, on word boundaries, ignoring case.

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
_MODEL = re.compile(r"(?: (?:[A-Za-z]{0,4}-?\d[\w.-]{0,8}|Pro|Plus|Mini|Max|XL|Ultra|Air|Edition))+")


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    text: str
    brand: str
    category: str


class BrandGazetteer:
    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        self.entries: dict[str, tuple[str, str]] = {}
        for surface, brand, category in rows:
            if category not in CATEGORIES:
                raise ValueError(
                    f"gazetteer: {surface!r} has category {category!r}, not one of the codebook's"
                )
            self.entries.setdefault(surface.lower(), (brand, category))
        names = sorted(self.entries, key=len, reverse=True)
        self._pattern = re.compile(
            r"(?<![\w])(" + "|".join(re.escape(n) for n in names) + r")(?![\w])", re.IGNORECASE
        )

    def __len__(self) -> int:
        return len(self.entries)

    def find(self, text: str) -> list[Mention]:
        out: list[Mention] = []
        pos = 0
        while (m := self._pattern.search(text, pos)) is not None:
            brand, category = self.entries[m.group(1).lower()]
            end = m.end()
            tail = _MODEL.match(text, end)
            if tail:
                end = tail.end()
            out.append(Mention(m.start(), end, text[m.start() : end], brand, category))
            pos = end  # the model designation is part of this mention, not the start of another
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

"""What a shadow run leaves behind: one record per sampled request, with the output of every arm.

A record holds the *outputs* of each pipeline run (the page, its scores, a few features and
predictions, the ad winners, the cost), not its inputs: the comparison only ever asks how far the
candidate's page is from production's on the same request, so that is all it needs, and it keeps a
record small enough to write one per sampled request.

Arms are named by role: ``production`` (what served), ``candidate`` (the config under test) and
``noise`` (production's config run a second time with another seed). The noise arm is what makes
the comparison readable: a candidate that moves RBO to 0.93 looks alarming until the noise arm shows
that production against itself sits at 0.94 (the "noise baseline" of Twitter's Diffy).

Storage is JSON lines, one record per line, appended: a crash can at worst leave a partial last
line, which `read_records` skips and counts, and which `RecordWriter` repairs before appending.
Non-finite floats are written as ``null`` and read back as NaN, so each line stays standard JSON
that any tool (jq, DuckDB, pandas) can read.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: bumped when a line's layout changes incompatibly; readers reject versions they do not know
FORMAT_VERSION = 1

PRODUCTION = "production"
CANDIDATE = "candidate"
NOISE = "noise"


@dataclass(frozen=True, slots=True)
class AdWinner:
    """One ad the arm's auction placed on the page.

    ``price_micros`` is the price as the auction set it (per click for CPC, per thousand impressions
    for CPM), so sums of prices compare arms' auctions, not their expected revenue.
    """

    ad_group_id: str
    campaign_id: str
    #: position on the page, counting organic items and ads together
    slot: int
    price_micros: int

    def __post_init__(self) -> None:
        if self.slot < 0:
            raise ValueError(f"slot: must be >= 0, got {self.slot}")
        if self.price_micros < 0:
            raise ValueError(f"price_micros: must be >= 0, got {self.price_micros}")


def _empty_columns() -> Mapping[str, tuple[float, ...]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ArmOutput:
    """One pipeline run (one arm) on one request.

    Per-item columns are parallel tuples over ``item_ids`` (the page's organic posts, best first),
    checked on construction: a comparison that zips a score with the wrong item is silently wrong,
    so a misaligned record is refused where it is made rather than discovered in a report.
    ``predictions`` (per model head) and ``features`` (a few columns worth watching) may be empty;
    when present, each column has one value per item.
    """

    request_id: str
    arm: str
    item_ids: tuple[str, ...]
    scores: tuple[float, ...]
    sources: tuple[str, ...]
    communities: tuple[str, ...]
    nsfw: tuple[bool, ...]
    predictions: Mapping[str, tuple[float, ...]] = field(default_factory=_empty_columns)
    features: Mapping[str, tuple[float, ...]] = field(default_factory=_empty_columns)
    ads: tuple[AdWinner, ...] = ()
    #: items on the page, organic posts and ads together
    page_size: int = 0
    latency_ms: float = 0.0
    cpu_ms: float = 0.0
    degraded: bool = False
    error: str | None = None

    def __post_init__(self) -> None:
        n = len(self.item_ids)
        for name in ("scores", "sources", "communities", "nsfw"):
            got = len(getattr(self, name))
            if got != n:
                raise ValueError(f"{name}: expected {n} values (one per item), got {got}")
        for family in ("predictions", "features"):
            columns: Mapping[str, tuple[float, ...]] = getattr(self, family)
            for col, values in columns.items():
                if len(values) != n:
                    raise ValueError(f"{family}.{col}: expected {n} values (one per item), got {len(values)}")
            # a frozen record should not change under a report that is reading it
            object.__setattr__(self, family, MappingProxyType(dict(columns)))
        if self.page_size < 0:
            raise ValueError(f"page_size: must be >= 0, got {self.page_size}")
        if self.latency_ms < 0 or self.cpu_ms < 0:
            raise ValueError(f"latency_ms/cpu_ms: must be >= 0, got {self.latency_ms}/{self.cpu_ms}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; non-finite floats become None (see the module docstring)."""
        return {
            "request_id": self.request_id,
            "arm": self.arm,
            "item_ids": list(self.item_ids),
            "scores": _floats_out(self.scores),
            "sources": list(self.sources),
            "communities": list(self.communities),
            "nsfw": list(self.nsfw),
            "predictions": {k: _floats_out(v) for k, v in self.predictions.items()},
            "features": {k: _floats_out(v) for k, v in self.features.items()},
            "ads": [
                {
                    "ad_group_id": a.ad_group_id,
                    "campaign_id": a.campaign_id,
                    "slot": a.slot,
                    "price_micros": a.price_micros,
                }
                for a in self.ads
            ],
            "page_size": self.page_size,
            "latency_ms": _float_out(self.latency_ms),
            "cpu_ms": _float_out(self.cpu_ms),
            "degraded": self.degraded,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, obj: Any, where: str = "") -> ArmOutput:
        """Parse and validate; a ValueError names the offending field (prefixed by ``where``)."""
        p = _Parser(where)
        d = p.obj(obj, "")
        winners: list[AdWinner] = []
        for i, a in enumerate(p.array(d, "ads")):
            at = f"ads[{i}]"
            ad = p.obj(a, at)
            winners.append(
                p.build(
                    AdWinner,
                    at,
                    ad_group_id=p.text(ad, "ad_group_id", at),
                    campaign_id=p.text(ad, "campaign_id", at),
                    slot=p.integer(ad, "slot", at),
                    price_micros=p.integer(ad, "price_micros", at),
                )
            )
        return p.build(
            cls,
            "",
            request_id=p.text(d, "request_id"),
            arm=p.text(d, "arm"),
            item_ids=p.texts(d, "item_ids"),
            scores=p.numbers(d, "scores"),
            sources=p.texts(d, "sources"),
            communities=p.texts(d, "communities"),
            nsfw=p.flags(d, "nsfw"),
            predictions=p.columns(d, "predictions"),
            features=p.columns(d, "features"),
            ads=tuple(winners),
            page_size=p.integer(d, "page_size"),
            latency_ms=p.number(d, "latency_ms"),
            cpu_ms=p.number(d, "cpu_ms"),
            degraded=p.flag(d, "degraded"),
            error=p.opt_text(d, "error"),
        )


@dataclass(frozen=True, slots=True)
class ShadowRecord:
    """Every arm's output for one sampled request.

    ``ts`` is the request's time in seconds since the epoch. ``arms`` is keyed by arm name, and each
    arm must carry that name and this request's id: records are joined by request id and arm name,
    so a mislabelled arm would compare a page against some other request's page.
    """

    request_id: str
    user_id: str
    surface: str
    ts: float
    arms: Mapping[str, ArmOutput]

    def __post_init__(self) -> None:
        for name, arm in self.arms.items():
            if arm.arm != name:
                raise ValueError(f"arms.{name}.arm: {arm.arm!r} does not match its key {name!r}")
            if arm.request_id != self.request_id:
                raise ValueError(
                    f"arms.{name}.request_id: {arm.request_id!r} does not match the record's "
                    f"{self.request_id!r}"
                )
        object.__setattr__(self, "arms", MappingProxyType(dict(self.arms)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": FORMAT_VERSION,
            "request_id": self.request_id,
            "user_id": self.user_id,
            "surface": self.surface,
            "ts": _float_out(self.ts),
            "arms": {name: arm.to_dict() for name, arm in self.arms.items()},
        }

    @classmethod
    def from_dict(cls, obj: Any) -> ShadowRecord:
        """Parse and validate one record; a ValueError names the offending field."""
        p = _Parser("")
        d = p.obj(obj, "")
        version = p.integer(d, "v")
        if version != FORMAT_VERSION:
            raise ValueError(f"v: unsupported format version {version} (this reader knows {FORMAT_VERSION})")
        arms_obj = p.obj(p.get(d, "arms"), "arms")
        arms = {name: ArmOutput.from_dict(value, where=f"arms.{name}.") for name, value in arms_obj.items()}
        return p.build(
            cls,
            "",
            request_id=p.text(d, "request_id"),
            user_id=p.text(d, "user_id"),
            surface=p.text(d, "surface"),
            ts=p.number(d, "ts"),
            arms=arms,
        )


class RecordList(list[ShadowRecord]):
    """The records of a file, plus how many trailing lines were skipped as truncated (0 or 1)."""

    skipped: int = 0


class RecordWriter:
    """Appends records to a JSON-lines file, one line per record, safe to share between threads.

    Each record is written with one ``write`` and flushed, so a crash loses at most the line being
    written. On open, a partial last line left by an earlier crash is removed (or, if it is a whole
    record that only lacks its newline, terminated), so that new records never glue onto a fragment
    and turn a skippable truncated tail into a corrupt line in the middle of the file.

    One writer per file: appends from several processes are not coordinated.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _repair_tail(self.path)
        self._lock = threading.Lock()
        self._file = self.path.open("a", encoding="utf-8")

    def write(self, record: ShadowRecord) -> None:
        line = json.dumps(record.to_dict(), separators=(",", ":"), allow_nan=False) + "\n"
        with self._lock:
            if self._file.closed:
                raise ValueError(f"write to a closed RecordWriter ({self.path})")
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_records(path: str | os.PathLike[str]) -> RecordList:
    """All records of a JSON-lines file, validated.

    A last line that lacks its newline and does not parse is the trace of a crash mid-write: it is
    skipped, counted in ``.skipped`` and logged. Any other bad line is a ValueError naming its line
    number and field, because a corrupt line in the middle means the file is not what the writer
    wrote, and a report over part of it would look whole.
    """
    data = Path(path).read_bytes()
    lines = data.split(b"\n")
    # a file that ends with "\n" splits into a final empty piece; otherwise the last piece is unterminated
    unterminated = lines.pop() if lines else b""
    out = RecordList()
    numbered = [(i + 1, raw, True) for i, raw in enumerate(lines)]
    if unterminated.strip():
        numbered.append((len(lines) + 1, unterminated, False))
    for lineno, raw, terminated in numbered:
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            if not terminated:
                out.skipped += 1
                log.warning("%s: skipped a truncated last line (%d): %s", path, lineno, exc)
                continue
            raise ValueError(f"{path}: line {lineno}: not valid JSON: {exc}") from exc
        try:
            out.append(ShadowRecord.from_dict(obj))
        except ValueError as exc:
            raise ValueError(f"{path}: line {lineno}: {exc}") from exc
    return out


def _repair_tail(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return
    cut = data.rfind(b"\n") + 1
    try:
        json.loads(data[cut:])
    except (json.JSONDecodeError, UnicodeDecodeError):
        log.warning("%s: removing a truncated last line (%d bytes) before appending", path, len(data) - cut)
        with path.open("r+b") as f:
            f.truncate(cut)
        return
    with path.open("ab") as f:
        f.write(b"\n")


def _float_out(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _floats_out(xs: tuple[float, ...]) -> list[float | None]:
    return [x if math.isfinite(x) else None for x in xs]


class _Parser:
    """Type checks for one decoded JSON object, with error messages that name the field path."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, name: str, what: str) -> ValueError:
        return ValueError(f"{self.where}{name}: {what}")

    def obj(self, value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(name or "record", f"expected an object, got {_kind(value)}")
        return value

    def get(self, d: dict[str, Any], key: str, at: str = "") -> Any:
        if key not in d:
            raise self.fail(_join(at, key), "missing")
        return d[key]

    def text(self, d: dict[str, Any], key: str, at: str = "") -> str:
        v = self.get(d, key, at)
        if not isinstance(v, str):
            raise self.fail(_join(at, key), f"expected a string, got {_kind(v)}")
        return v

    def opt_text(self, d: dict[str, Any], key: str) -> str | None:
        v = d.get(key)
        if v is not None and not isinstance(v, str):
            raise self.fail(key, f"expected a string or null, got {_kind(v)}")
        return v

    def integer(self, d: dict[str, Any], key: str, at: str = "") -> int:
        v = self.get(d, key, at)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(_join(at, key), f"expected an integer, got {_kind(v)}")
        return v

    def number(self, d: dict[str, Any], key: str) -> float:
        return self._num(self.get(d, key), key)

    def flag(self, d: dict[str, Any], key: str) -> bool:
        v = self.get(d, key)
        if not isinstance(v, bool):
            raise self.fail(key, f"expected true or false, got {_kind(v)}")
        return v

    def array(self, d: dict[str, Any], key: str) -> list[Any]:
        v = self.get(d, key)
        if not isinstance(v, list):
            raise self.fail(key, f"expected a list, got {_kind(v)}")
        return v

    def texts(self, d: dict[str, Any], key: str) -> tuple[str, ...]:
        values = self.array(d, key)
        for i, v in enumerate(values):
            if not isinstance(v, str):
                raise self.fail(f"{key}[{i}]", f"expected a string, got {_kind(v)}")
        return tuple(values)

    def flags(self, d: dict[str, Any], key: str) -> tuple[bool, ...]:
        values = self.array(d, key)
        for i, v in enumerate(values):
            if not isinstance(v, bool):
                raise self.fail(f"{key}[{i}]", f"expected true or false, got {_kind(v)}")
        return tuple(values)

    def numbers(self, d: dict[str, Any], key: str) -> tuple[float, ...]:
        return tuple(self._num(v, f"{key}[{i}]") for i, v in enumerate(self.array(d, key)))

    def columns(self, d: dict[str, Any], key: str) -> dict[str, tuple[float, ...]]:
        cols = self.obj(self.get(d, key), key)
        out: dict[str, tuple[float, ...]] = {}
        for name, values in cols.items():
            if not isinstance(values, list):
                raise self.fail(f"{key}.{name}", f"expected a list, got {_kind(values)}")
            out[name] = tuple(self._num(v, f"{key}.{name}[{i}]") for i, v in enumerate(values))
        return out

    def _num(self, v: Any, name: str) -> float:
        if v is None:
            return math.nan
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.fail(name, f"expected a number or null, got {_kind(v)}")
        return float(v)

    def build(self, cls: type[_T], at: str, **kwargs: Any) -> _T:
        """Construct, re-raising the constructor's own checks with the field path prefixed."""
        try:
            return cls(**kwargs)
        except ValueError as exc:
            raise ValueError(f"{self.where}{at + '.' if at else ''}{exc}") from None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _join(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key

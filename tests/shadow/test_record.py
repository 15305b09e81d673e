from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any

import pytest

from feedmix.shadow.record import (
    FORMAT_VERSION,
    AdWinner,
    ArmOutput,
    RecordWriter,
    ShadowRecord,
    read_records,
)


def arm(request_id: str = "r1", name: str = "production", n: int = 3, **over: Any) -> ArmOutput:
    fields: dict[str, Any] = {
        "request_id": request_id,
        "arm": name,
        "item_ids": tuple(f"p{i}" for i in range(n)),
        "scores": tuple(1.0 - i / 10 for i in range(n)),
        "sources": tuple("trending" if i % 2 else "joined" for i in range(n)),
        "communities": tuple(f"c{i % 2}" for i in range(n)),
        "nsfw": tuple(i == 1 for i in range(n)),
        "predictions": {"click": tuple(0.1 * i for i in range(n))},
        "features": {"age_h": tuple(float(i) for i in range(n))},
        "ads": (AdWinner("ag1", "camp1", slot=2, price_micros=1500),),
        "page_size": n + 1,
        "latency_ms": 4.5,
        "cpu_ms": 3.25,
        "degraded": False,
        "error": None,
    }
    fields.update(over)
    return ArmOutput(**fields)


def record(request_id: str = "r1", arms: tuple[str, ...] = ("production", "candidate")) -> ShadowRecord:
    return ShadowRecord(
        request_id=request_id,
        user_id="u1",
        surface="home",
        ts=1_700_000_000.5,
        arms={a: arm(request_id, a) for a in arms},
    )


def write_lines(path: Path, lines: list[str], trailing_newline: bool = True) -> None:
    path.write_text("\n".join(lines) + ("\n" if trailing_newline else ""), encoding="utf-8")


def test_round_trip_through_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "shadow" / "records.jsonl"
    recs = [record("r1"), record("r2", ("production", "candidate", "noise"))]
    with RecordWriter(path) as w:
        for r in recs:
            w.write(r)
    back = read_records(path)
    assert back == recs
    assert back.skipped == 0
    # one standard JSON object per line
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["v"] == FORMAT_VERSION


def test_non_finite_floats_are_stored_as_null_and_read_as_nan(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    a = arm(features={"age_h": (1.0, math.nan, math.inf)})
    rec = ShadowRecord("r1", "u1", "home", 1.0, {"production": a})
    with RecordWriter(path) as w:
        w.write(rec)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["arms"]["production"]["features"]["age_h"] == [1.0, None, None]
    back = read_records(path)[0].arms["production"].features["age_h"]
    assert back[0] == 1.0 and math.isnan(back[1]) and math.isnan(back[2])


def test_writer_is_safe_across_threads(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with RecordWriter(path) as w:

        def work(t: int) -> None:
            for i in range(50):
                w.write(record(f"t{t}-{i}"))

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    back = read_records(path)
    assert len(back) == 400
    assert len({r.request_id for r in back}) == 400


def test_a_truncated_last_line_is_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    full = [json.dumps(record(f"r{i}").to_dict()) for i in range(2)]
    partial = json.dumps(record("r2").to_dict())[:57]
    write_lines(path, [*full, partial], trailing_newline=False)
    back = read_records(path)
    assert [r.request_id for r in back] == ["r0", "r1"]
    assert back.skipped == 1


def test_a_whole_last_record_without_its_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_lines(path, [json.dumps(record(f"r{i}").to_dict()) for i in range(2)], trailing_newline=False)
    back = read_records(path)
    assert len(back) == 2 and back.skipped == 0


def test_a_corrupt_line_in_the_middle_is_an_error_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    good = json.dumps(record("r0").to_dict())
    write_lines(path, [good, good[:40], good])
    with pytest.raises(ValueError, match="line 2: not valid JSON"):
        read_records(path)


def test_a_truncated_line_that_is_terminated_is_corruption_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    good = json.dumps(record("r0").to_dict())
    write_lines(path, [good, good[:40]])
    with pytest.raises(ValueError, match="line 2"):
        read_records(path)


def test_blank_lines_and_empty_files_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text("", encoding="utf-8")
    assert read_records(path) == []
    write_lines(path, ["", json.dumps(record("r0").to_dict()), "  "])
    assert len(read_records(path)) == 1


def test_the_writer_repairs_a_crashed_tail_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    full = json.dumps(record("r0").to_dict())
    write_lines(path, [full, full[:30]], trailing_newline=False)
    with RecordWriter(path) as w:
        w.write(record("r1"))
    back = read_records(path)
    assert [r.request_id for r in back] == ["r0", "r1"]
    assert back.skipped == 0


def test_the_writer_terminates_a_whole_last_record_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_lines(path, [json.dumps(record("r0").to_dict())], trailing_newline=False)
    with RecordWriter(path) as w:
        w.write(record("r1"))
    assert [r.request_id for r in read_records(path)] == ["r0", "r1"]


def test_writing_after_close_is_an_error(tmp_path: Path) -> None:
    w = RecordWriter(tmp_path / "r.jsonl")
    w.close()
    with pytest.raises(ValueError, match="closed"):
        w.write(record())


DELETE = object()
PROD, CAND = ("arms", "production"), ("arms", "candidate")


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    if value is DELETE:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ((*CAND, "scores"), [1.0, "x", 0.8], r"arms\.candidate\.scores\[1\]: expected a number"),
        ((*CAND, "scores"), [1.0, 0.9], r"arms\.candidate\.scores: expected 3 values"),
        ((*PROD, "latency_ms"), DELETE, r"arms\.production\.latency_ms: missing"),
        ((*PROD, "nsfw"), [0, 1, 0], r"arms\.production\.nsfw\[0\]: expected true or false"),
        ((*PROD, "page_size"), 3.5, r"arms\.production\.page_size: expected an integer"),
        ((*PROD, "ads", 0, "slot"), DELETE, r"arms\.production\.ads\[0\]\.slot: missing"),
        ((*PROD, "ads", 0, "price_micros"), -1, r"arms\.production\.ads\[0\]\.price_micros: must be >= 0"),
        ((*PROD, "features", "age_h"), [1.0], r"arms\.production\.features\.age_h: expected 3"),
        ((*CAND, "arm"), "noise", r"arms\.candidate\.arm: 'noise' does not match"),
        ((*CAND, "request_id"), "zz", r"arms\.candidate\.request_id: 'zz' does not match"),
        (("user_id",), 7, r"user_id: expected a string, got int"),
        (("arms",), DELETE, r"arms: missing"),
        (("v",), 99, r"v: unsupported format version 99"),
    ],
)
def test_invalid_records_name_the_line_and_the_field(
    tmp_path: Path, path: tuple[Any, ...], value: Any, message: str
) -> None:
    lines = [record(f"r{i}").to_dict() for i in range(3)]
    _set(lines[1], path, value)
    file = tmp_path / "r.jsonl"
    write_lines(file, [json.dumps(x) for x in lines])
    with pytest.raises(ValueError, match=r"line 2: " + message):
        read_records(file)


def test_arm_output_refuses_misaligned_columns() -> None:
    with pytest.raises(ValueError, match="sources: expected 3 values"):
        arm(sources=("a",))
    with pytest.raises(ValueError, match=r"predictions\.click: expected 3"):
        arm(predictions={"click": (0.1,)})
    with pytest.raises(ValueError, match="page_size"):
        arm(page_size=-1)
    with pytest.raises(ValueError, match="slot"):
        AdWinner("ag", "c", slot=-1, price_micros=0)


def test_records_are_immutable() -> None:
    rec = record()
    with pytest.raises((TypeError, AttributeError)):
        rec.arms["noise"] = arm(name="noise")  # type: ignore[index]
    with pytest.raises(TypeError):
        rec.arms["production"].features["x"] = (1.0, 2.0, 3.0)  # type: ignore[index]


def test_an_empty_arm_is_valid() -> None:
    a = arm(n=0, predictions={}, features={}, ads=(), page_size=0, error="timeout")
    assert a.item_ids == () and a.error == "timeout"
    assert ArmOutput.from_dict(a.to_dict()) == a

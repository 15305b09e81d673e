"""``feedmix shadow report NAME`` and ``feedmix shadow gate NAME``: read a shadow's records, compare.

Both read ``<state_dir>/shadow/<name>/records.jsonl`` (the state dir of ``--config``, or the default
``var``), or ``--records``. ``gate`` takes its bounds from the config's ``[shadows.<name>] gates`` or
``--gates JSON`` and exits 1 when any fails, so it can stand in a release pipeline; it exits 2 when
there is nothing to judge (no records, no gates).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("shadow", help="compare a shadow's candidate with production (and its noise)")
    ss = p.add_subparsers(dest="shadow", required=True)
    for name, helptext, fn in (
        ("report", "every metric, candidate and noise side by side", _report),
        ("gate", "check the shadow's gates; exit 1 if one fails", _gate),
    ):
        q = ss.add_parser(name, help=helptext)
        q.add_argument("name", help="the shadow ([shadows.<name>] in the config)")
        q.add_argument("--config", help="the server's config (default: the built-in one)")
        q.add_argument("--records", help="a records.jsonl (default <state_dir>/shadow/<name>/records.jsonl)")
        q.add_argument("--json", dest="json_out", help="also write the report (and gate result) here")
        if name == "gate":
            q.add_argument("--gates", help="bounds as JSON, instead of the config's")
        q.set_defaults(func=fn)


def _load(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    from feedmix.config import FeedmixConfig
    from feedmix.shadow.record import read_records
    from feedmix.shadow.report import compare

    cfg = FeedmixConfig.from_toml(args.config) if args.config else FeedmixConfig()
    path = (
        Path(args.records) if args.records else Path(cfg.state_dir) / "shadow" / args.name / "records.jsonl"
    )
    if not path.exists():
        raise FileNotFoundError(f"no records at {path} (is the shadow configured and sampling?)")
    records = read_records(path)
    table = cfg.shadows.get(args.name, {})
    return compare(records), table, {"path": str(path), "records": len(records), "skipped": records.skipped}


def _report(args: argparse.Namespace) -> int:
    from feedmix.shadow.report import to_markdown

    try:
        report, _, source = _load(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(to_markdown(report))
    print(
        f"({source['records']} records from {source['path']}, {source['skipped']} unreadable lines skipped)"
    )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"source": source, "report": report}, indent=2))
    return 0


def _gate(args: argparse.Namespace) -> int:
    from feedmix.shadow.gates import evaluate

    try:
        report, table, source = _load(args)
        gates = json.loads(args.gates) if args.gates else table.get("gates", {})
        if not gates:
            raise ValueError(
                f"shadow {args.name!r} has no gates (set [shadows.{args.name}] gates or --gates)"
            )
        result = evaluate(report, gates)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for check in result.checks:
        print(f"{'pass' if check.passed else 'FAIL'}  {check.message}")
    print(f"{args.name}: {'passed' if result.passed else 'FAILED'} ({source['records']} records)")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"source": source, "gates": result.to_dict()}, indent=2))
    return 0 if result.passed else 1

"""``feedmix cost``: what serving costs, per 1,000 requests, per component and per owning team.

Input: the JSON of a load run (``feedmix bench serving --out run.json``), whose server-side breakdown
holds each component's CPU seconds over the measured window, labelled with the team that owns the
component (``Component.owner``), and the whole process's CPU. Cost is CPU time priced at
``--core-hour-usd`` (default 0.04 USD per core-hour, about an on-demand general-purpose cloud vCPU; a
price, not a measurement, so pass yours). What no component accounts for (HTTP parsing, validation,
serialisation, the framework between stages) is reported as its own line, ``(outside components)``,
so the per-team lines add up to the process's total and a launch's cost is visible in the team that
made it. A shadow's pipelines (``<pipeline>.shadow.<name>``) are priced on a line of their own,
``(shadow <name>)``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

DEFAULT_CORE_HOUR_USD = 0.04
OUTSIDE = "(outside components)"


def cost_report(run: dict[str, Any], core_hour_usd: float = DEFAULT_CORE_HOUR_USD) -> dict[str, Any]:
    """Cost per 1,000 requests from a load run's report; raises ValueError naming what is missing.

    A reference-scenario report (``bench serving --scenario reference``) holds its load run under
    ``load``; that is what is priced.
    """
    if "requests" not in run and isinstance(run.get("load"), dict):
        run = run["load"]
    requests = int(run.get("requests") or 0)
    if requests <= 0:
        raise ValueError("requests: the run measured no requests")
    rows = run.get("component_cpu")
    if not rows:
        raise ValueError("component_cpu: the run has no per-component CPU (was /metrics scraped?)")
    per_1k = 1000.0 / requests

    def usd(cpu_s: float) -> float:
        return cpu_s * per_1k / 3600.0 * core_hour_usd

    components = sorted(
        (
            {
                "pipeline": r["pipeline"],
                "component": r["component"],
                "owner": r["owner"],
                "cpu_ms_per_request": r["cpu_s"] * 1000.0 / requests,
                "usd_per_1k_requests": usd(r["cpu_s"]),
            }
            for r in rows
        ),
        key=lambda r: -r["cpu_ms_per_request"],
    )
    in_components = sum(r["cpu_s"] for r in rows)
    total = run.get("server_cpu_s")
    teams: dict[str, float] = defaultdict(float)
    for r in rows:
        teams[_payer(r)] += r["cpu_s"]
    if total is not None and total > in_components:
        teams[OUTSIDE] += total - in_components
    return {
        "requests": requests,
        "core_hour_usd": core_hour_usd,
        "server_cpu_ms_per_request": None if total is None else total * 1000.0 / requests,
        "usd_per_1k_requests": None if total is None else usd(total),
        "components": components,
        "teams": [
            {"owner": o, "cpu_ms_per_request": s * 1000.0 / requests, "usd_per_1k_requests": usd(s)}
            for o, s in sorted(teams.items(), key=lambda kv: -kv[1])
        ],
    }


def _payer(row: dict[str, Any]) -> str:
    """Who pays for a component's CPU: its owning team, except in a shadow's pipelines
    (``home.shadow.<name>``, ``...noise``), which are the shadow's own line: a candidate under test costs
    what it costs, and that price belongs to the change, not to the teams whose components it reruns."""
    pipeline = str(row["pipeline"])
    if ".shadow." in pipeline:
        return f"(shadow {pipeline.split('.shadow.', 1)[1].removesuffix('.noise')})"
    return str(row["owner"])


def markdown(report: dict[str, Any], top: int = 15) -> str:
    lines = [
        f"{report['requests']} requests at {report['core_hour_usd']} USD per core-hour;"
        f" server CPU {report['server_cpu_ms_per_request'] or 0:.2f} ms per request,"
        f" {report['usd_per_1k_requests'] or 0:.6f} USD per 1,000 requests.",
        "",
        "| team | CPU ms per request | USD per 1,000 requests |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {t['owner']} | {t['cpu_ms_per_request']:.3f} | {t['usd_per_1k_requests']:.6f} |"
        for t in report["teams"]
    ]
    lines += [
        "",
        "| pipeline | component | team | CPU ms per request | USD per 1,000 requests |",
        "|---|---|---|---:|---:|",
    ]
    lines += [
        f"| {c['pipeline']} | {c['component']} | {c['owner']} | {c['cpu_ms_per_request']:.3f}"
        f" | {c['usd_per_1k_requests']:.6f} |"
        for c in report["components"][:top]
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="feedmix cost", description=__doc__.split("\n\n")[0])
    ap.add_argument("run", help="JSON of a load run: feedmix bench serving --out run.json")
    ap.add_argument(
        "--core-hour-usd", type=float, default=DEFAULT_CORE_HOUR_USD, help="price of one CPU core-hour"
    )
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = ap.parse_args(argv)
    if not args.core_hour_usd > 0:
        print("feedmix cost: --core-hour-usd must be positive", file=sys.stderr)
        return 2
    try:
        report = cost_report(json.loads(Path(args.run).read_text()), args.core_hour_usd)
    except (OSError, ValueError) as exc:
        print(f"feedmix cost: {args.run}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else markdown(report))
    return 0

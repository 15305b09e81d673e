"""``feedmix experiments create|list|show|start|stop|launch|ramp|allocate|holdout|analyze``.

The commands talk to a running server's experiments API (``--url``, default the demo's), so a definition
is checked against the params the server really has; the operator key comes from ``--key``,
``$FEEDMIX_OPERATOR_KEY`` or the demo's ``<state_dir>/operator_key``. A refusal prints the field and
the reason and exits 2; an unreachable server exits 3.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000"


def register(sub: Any) -> None:
    p = sub.add_parser("experiments", help="define, start, ramp, stop and analyse experiments (operator API)")
    p.add_argument(
        "--url", default=os.environ.get("FEEDMIX_URL", DEFAULT_URL), help="the server (default %(default)s)"
    )
    p.add_argument(
        "--key", default=None, help="operator key (default $FEEDMIX_OPERATOR_KEY or the demo's key file)"
    )
    es = p.add_subparsers(dest="experiments", required=True)

    c = es.add_parser("create", help="a new draft from --file (JSON) or from the flags")
    c.add_argument("--file", help="a JSON definition (the API's body)")
    c.add_argument("--id", dest="experiment_id")
    c.add_argument("--owner", default=os.environ.get("USER", "someone"))
    c.add_argument("--hypothesis")
    c.add_argument("--surface", action="append", dest="surfaces", help="repeat for several (default home)")
    c.add_argument("--layer", default="default")
    c.add_argument(
        "--unit",
        default="user",
        choices=["user", "request", "campaign"],
        help="what is randomised (campaign: an ads campaign, knob campaign.bid_multiplier)",
    )
    c.add_argument(
        "--budget-split",
        action="store_true",
        help="an ads marketplace experiment: every campaign's budget split across the arms",
    )
    c.add_argument("--allocation", type=float, default=1.0, help="share of the layer's units (0-1]")
    c.add_argument("--coverage", type=float, default=1.0, help="share of the allocation in it now [0-1]")
    c.add_argument(
        "--variant",
        action="append",
        dest="variants",
        help="NAME[@WEIGHT][:param=value,...]; the first is the control ('treatment:ranker.w_hide=2')",
    )
    c.add_argument(
        "--primary-metric", help="default engagement_per_user (ad_revenue_per_campaign for --unit campaign)"
    )
    c.add_argument("--guardrail", action="append", dest="guardrails", default=[])
    c.set_defaults(func=_create)

    ls = es.add_parser("list", help="every experiment")
    ls.add_argument("--status", choices=["draft", "running", "stopped", "launched"])
    ls.set_defaults(func=_list)
    for name, helptext in (
        ("show", "one experiment's definition and state"),
        ("start", "take a slice of the layer and serve"),
        ("stop", "stop serving (the analysis stays)"),
        ("launch", "record the decision (put the winner's params in the pipeline config)"),
    ):
        q = es.add_parser(name, help=helptext)
        q.add_argument("experiment_id")
        q.set_defaults(func=_simple, action=name)
    r = es.add_parser("ramp", help="change the coverage: up keeps every unit in its variant")
    r.add_argument("experiment_id")
    r.add_argument("--coverage", type=float, required=True)
    r.set_defaults(func=_ramp)
    a = es.add_parser("allocate", help="change the allocation (a running experiment needs --bucket-version)")
    a.add_argument("experiment_id")
    a.add_argument("--allocation", type=float, required=True)
    a.add_argument("--bucket-version", type=int)
    a.set_defaults(func=_allocate)
    h = es.add_parser("holdout", help="set a holdout share: 'global' or a layer name")
    h.add_argument("scope")
    h.add_argument("share", type=float)
    h.set_defaults(func=_holdout)
    z = es.add_parser("analyze", help="every metric against the control, SRM, sequential intervals")
    z.add_argument("experiment_id")
    z.add_argument("--json", dest="json_out", help="also write the report here")
    z.add_argument("--plot", help="write the metrics-over-time plot (PNG) here")
    z.set_defaults(func=_analyze)


class _ApiError(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.detail = status, detail


def _call(args: argparse.Namespace, method: str, path: str, body: Any = None, raw: bool = False) -> Any:
    import httpx

    from feedmix.config import FeedmixConfig
    from feedmix.operator_key import read_key

    key = args.key if args.key is not None else read_key(FeedmixConfig().state_dir)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    r = httpx.request(method, args.url.rstrip("/") + path, json=body, headers=headers, timeout=60.0)
    if r.status_code >= 400:
        try:
            detail = r.json().get("detail")
        except ValueError:
            detail = r.text
        raise _ApiError(r.status_code, detail)
    return r.content if raw else r.json()


def _run(args: argparse.Namespace, fn: Any) -> int:
    import httpx

    try:
        fn()
    except _ApiError as exc:
        detail = exc.detail
        if isinstance(detail, list):
            for d in detail:
                where = ".".join(str(x) for x in d.get("loc", []) if x != "body")
                print(f"error ({exc.status}): {where}: {d.get('msg')}", file=sys.stderr)
        else:
            print(f"error ({exc.status}): {detail}", file=sys.stderr)
        return 2
    except httpx.TransportError as exc:
        print(f"error: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 3
    return 0


def _print_experiment(e: dict[str, Any]) -> None:
    print(json.dumps(e, indent=2, sort_keys=True))


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_variant(spec: str) -> dict[str, Any]:
    """``treatment@2:ranker.w_hide=2,trending.enabled=false`` -> the API's variant object."""
    head, _, params = spec.partition(":")
    name, _, weight = head.partition("@")
    overrides = {}
    for pair in filter(None, params.split(",")):
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"variant {name!r}: expected param=value, got {pair!r}")
        overrides[key.strip()] = _parse_value(value.strip())
    return {"name": name, "weight": float(weight) if weight else 1.0, "overrides": overrides}


def _definition(args: argparse.Namespace) -> dict[str, Any]:
    if args.file:
        with open(args.file) as f:
            return dict(json.load(f))
    body: dict[str, Any] = {
        "experiment_id": args.experiment_id,
        "owner": args.owner,
        "hypothesis": args.hypothesis,
        "surfaces": args.surfaces or ["home"],
        "layer": args.layer,
        "unit": args.unit,
        "kind": "budget_split" if args.budget_split else "standard",
        "allocation": args.allocation,
        "coverage": args.coverage,
        "variants": [parse_variant(v) for v in args.variants or []],
        "primary_metric": args.primary_metric
        or ("ad_revenue_per_campaign" if args.unit == "campaign" else "engagement_per_user"),
        "guardrails": args.guardrails,
    }
    return {k: v for k, v in body.items() if v is not None}


def _create(args: argparse.Namespace) -> int:
    try:
        body = _definition(args)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return _run(args, lambda: _print_experiment(_call(args, "POST", "/v1/experiments", body)))


def _list(args: argparse.Namespace) -> int:
    def show() -> None:
        path = "/v1/experiments" + (f"?status={args.status}" if args.status else "")
        rows = _call(args, "GET", path)["experiments"]
        print(f"{'experiment':<28} {'status':<9} {'layer':<12} {'alloc':>6} {'cover':>6} {'v':>2}  variants")
        for e in rows:
            variants = ", ".join(v["name"] for v in e["variants"])
            print(
                f"{e['experiment_id']:<28} {e['status']:<9} {e['layer']:<12} {e['allocation']:>6.0%}"
                f" {e['coverage']:>6.0%} {e['bucket_version']:>2}  {variants}"
            )

    return _run(args, show)


def _simple(args: argparse.Namespace) -> int:
    method, path = ("GET", "") if args.action == "show" else ("POST", f"/{args.action}")
    return _run(
        args, lambda: _print_experiment(_call(args, method, f"/v1/experiments/{args.experiment_id}{path}"))
    )


def _ramp(args: argparse.Namespace) -> int:
    body = {"coverage": args.coverage}
    return _run(
        args,
        lambda: _print_experiment(_call(args, "POST", f"/v1/experiments/{args.experiment_id}/ramp", body)),
    )


def _allocate(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"allocation": args.allocation}
    if args.bucket_version is not None:
        body["bucket_version"] = args.bucket_version
    path = f"/v1/experiments/{args.experiment_id}/allocation"
    return _run(args, lambda: _print_experiment(_call(args, "POST", path, body)))


def _holdout(args: argparse.Namespace) -> int:
    body = {"share": args.share}
    return _run(
        args, lambda: print(json.dumps(_call(args, "PUT", f"/v1/experiments/holdouts/{args.scope}", body)))
    )


def _analyze(args: argparse.Namespace) -> int:
    def show() -> None:
        report = _call(args, "GET", f"/v1/experiments/{args.experiment_id}/analysis")
        print(format_report(report))
        if args.json_out:
            with open(args.json_out, "w") as f:
                json.dump(report, f, indent=2)
        if args.plot:
            png = _call(args, "GET", f"/v1/experiments/{args.experiment_id}/analysis.png", raw=True)
            with open(args.plot, "wb") as f:
                f.write(png)
            print(f"plot: {args.plot}")

    return _run(args, show)


def format_report(report: dict[str, Any]) -> str:
    """The analysis as a terminal table: one row per metric and treatment."""
    exp = report["experiment"]
    head = f"{exp['experiment_id']} ({exp['status']}, bucket v{exp['bucket_version']})"
    lines = [f"{head}: exposed {report['exposed']}"]
    srm = report.get("srm")
    if srm:
        lines.append(
            f"sample ratio: chi2 {srm['chi2']:.2f}, p {srm['p_value']:.3g}{'  ALARM' if srm['alarm'] else ''}"
        )
    lines += [f"warning: {w}" for w in report.get("warnings", [])]
    lines.append(
        f"{'metric':<22} {'role':<9} {'variant':<12} {'control':>9} {'diff':>9} {'95% CI':>21}"
        f" {'always-valid':>21} {'p(BH)':>7} {'CUPED':>6}"
    )
    for m in report["metrics"]:
        control = m["arms"][exp["variants"][0]["name"]]["value"]
        level = float("nan") if control is None else control
        for variant, c in m["comparisons"].items():
            av = c.get("always_valid") or {}
            cuped = c.get("cuped")
            flag = " *" if c.get("significant") else ""
            flag += " GUARDRAIL" if c.get("guardrail_breached") else ""
            lines.append(
                f"{m['metric']:<22} {m['role']:<9} {variant:<12} {level:>9.4f}"
                f" {c['diff']:>+9.4f} [{c['ci_low']:>+9.4f},{c['ci_high']:>+9.4f}]"
                f" [{av.get('ci_low', float('nan')):>+9.4f},{av.get('ci_high', float('nan')):>+9.4f}]"
                f" {c.get('p_value_bh', float('nan')):>7.3f}"
                f" {'-' if cuped is None else format(cuped['variance_reduction'], '>6.0%')}{flag}"
            )
    return "\n".join(lines)

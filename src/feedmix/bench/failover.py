"""``feedmix bench failover``: kill a Redis Cluster master under load; count what acknowledged writes
survive and whether any budget is overspent.

A real cluster is started (3 masters, 3 replicas, a short ``cluster-node-timeout``). Writer threads
append event batches to the event log and hold ad spend against two campaigns (one whose budget runs
out during the run, one that never does) whose keys live on the same master as the log's stream.
Mid-run that master is SIGKILLed; its replica is promoted; the writers keep going (their failed calls
are what a client would retry). Then, on the promoted cluster:

* every event whose append was acknowledged must be in the log (``lost_events``);
* each campaign's counter must hold at least what was acknowledged (``lost_spend``): a counter that
  forgot acknowledged holds would let the budget be spent again;
* the acknowledged holds of the small campaign must stay within its budget (``overspend``).

Run once with ``wait_replicas=1`` (acknowledge only what a replica holds: the default for a cluster
deployment) and once with ``wait_replicas=0`` (Redis's asynchronous replication), in one process.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from feedmix.ads.decision.spend_counters import Hold, open_spend_counters
from feedmix.bench.json_report import emit
from feedmix.bench.local_cluster import LocalCluster
from feedmix.events.backends import open_event_log
from feedmix.events.event_log import scan
from feedmix.events.schema import Event
from feedmix.stores.errors import StoreUnavailable

DAY = 20_000


@dataclass
class _Tally:
    acked_ids: list[str] = field(default_factory=list)
    failed_appends: int = 0
    held: dict[str, int] = field(default_factory=dict)
    failed_holds: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class FailoverResult:
    wait_replicas: int
    seconds: float
    failover_s: float
    events_acknowledged: int
    appends_failed: int
    lost_events: int
    holds_failed: int
    spend_acknowledged: dict[str, int]
    spend_in_counters: dict[str, int]
    lost_spend: dict[str, int]
    budget: int
    overspend: int


def _campaign_on(cluster: LocalCluster, port: int, tag: str) -> str:
    """A campaign id whose spend keys' slot is served by the master on ``port``."""
    for n in range(10_000):
        campaign = f"{tag}{n}"
        if cluster.master_port_of(f"{{c:{campaign}}}") == port:
            return campaign
    raise LookupError("no campaign id maps to that master")


def run_failover(
    wait_replicas: int, before_s: float = 3.0, after_s: float = 4.0, writers: int = 4, budget: int = 10_000
) -> FailoverResult:
    cluster = LocalCluster(masters=3, replicas=1, node_timeout_ms=1000)
    try:
        return _run(cluster, wait_replicas, before_s, after_s, writers, budget)
    finally:
        cluster.stop()


def _run(
    cluster: LocalCluster, wait_replicas: int, before_s: float, after_s: float, writers: int, budget: int
) -> FailoverResult:
    stream = f"fo{uuid.uuid4().hex[:8]}"
    base = f"redis://127.0.0.1:{cluster.ports[0]}/0?cluster=true&timeout_ms=500&connect_timeout_ms=500"
    wait = f"&wait_replicas={wait_replicas}&wait_timeout_ms=200"
    victim = cluster.master_port_of(f"feedmix:events:{{{stream}}}")
    small, large = _campaign_on(cluster, victim, "small"), _campaign_on(cluster, victim, "large")
    caps = {small: budget, large: 10**12}
    tally = _Tally(held={small: 0, large: 0})
    stop = threading.Event()

    def writer(n: int) -> None:
        log = open_event_log(f"{base}&stream={stream}{wait}")
        counters = open_spend_counters(f"{base}&prefix=fo{wait}")
        i = 0
        while not stop.is_set():
            i += 1
            batch = [
                Event(
                    event_id=f"w{n}-{i}-{k}", type="impression", user_id=f"u{n}", post_id="p1", ts=time.time()
                )
                for k in range(5)
            ]
            try:
                log.append(batch)
                with tally.lock:
                    tally.acked_ids += [e.event_id for e in batch]
            except Exception:  # EventLogUnavailable: the client would retry this batch
                with tally.lock:
                    tally.failed_appends += 1
            holds = [Hold(c, DAY, 10, caps[c], -1, bill_now=True) for c in (small, large)]
            try:
                granted = counters.reserve(holds)
                with tally.lock:
                    for h, ok in zip(holds, granted, strict=True):
                        tally.held[h.campaign_id] += h.amount if ok else 0
            except StoreUnavailable:
                with tally.lock:
                    tally.failed_holds += 1
        counters.close()
        log.close()

    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(writers)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(before_s)
    cluster.kill(victim)
    failover_s = cluster.wait_failover(victim)
    time.sleep(after_s)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    seconds = time.monotonic() - t0

    log = open_event_log(f"{base.replace(str(cluster.ports[0]), str(cluster.live_port()))}&stream={stream}")
    stored = {e.event_id for e in scan(log)}
    log.close()
    counters = open_spend_counters(
        f"{base.replace(str(cluster.ports[0]), str(cluster.live_port()))}&prefix=fo"
    )
    in_counters = {c: counters.billed(c, DAY)[0] for c in (small, large)}
    counters.close()
    lost = sum(1 for i in tally.acked_ids if i not in stored)
    return FailoverResult(
        wait_replicas=wait_replicas,
        seconds=round(seconds, 2),
        failover_s=round(failover_s, 2),
        events_acknowledged=len(tally.acked_ids),
        appends_failed=tally.failed_appends,
        lost_events=lost,
        holds_failed=tally.failed_holds,
        spend_acknowledged={"small": tally.held[small], "large": tally.held[large]},
        spend_in_counters={"small": in_counters[small], "large": in_counters[large]},
        lost_spend={
            "small": max(0, tally.held[small] - in_counters[small]),
            "large": max(0, tally.held[large] - in_counters[large]),
        },
        budget=budget,
        overspend=max(0, tally.held[small] - budget),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="feedmix bench failover", description=__doc__.splitlines()[0])
    ap.add_argument("--wait-replicas", type=int, nargs="+", default=[1, 0], help="runs (default: 1 then 0)")
    ap.add_argument("--before-s", type=float, default=3.0, help="load before the kill")
    ap.add_argument("--after-s", type=float, default=4.0, help="load after the failover")
    ap.add_argument("--writers", type=int, default=4, help="writer threads")
    ap.add_argument("--budget", type=int, default=10_000, help="the small campaign's daily budget")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    results: list[dict[str, Any]] = []
    for wait in args.wait_replicas:
        print(f"feedmix: failover with wait_replicas={wait}...", file=sys.stderr, flush=True)
        r = run_failover(wait, args.before_s, args.after_s, args.writers, args.budget)
        results.append(asdict(r))
        print(f"feedmix:   {json.dumps(asdict(r))}", file=sys.stderr, flush=True)
    out = {
        "benchmark": "failover",
        "cluster": "3 masters + 3 replicas, cluster-node-timeout 1000 ms",
        "runs": results,
    }
    emit(out, args.out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

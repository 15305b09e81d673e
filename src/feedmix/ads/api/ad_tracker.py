"""Impression and click tracking: idempotent, deduplicated, and feeding billing, pacing and pCTR.

``POST /v1/ads/events`` takes a batch of ``{event_id, type: impression|click, ad_token}``. In order:

1. every token is verified (signature, age); one bad token rejects the batch with a 422 naming
   ``events.<i>.ad_token``, like the organic event API: nothing of a bad batch is half-applied;
2. event ids go through the dedup store: a retried or double-fired event is acknowledged as a
   duplicate and bills nothing;
3. each new event updates the ad server (impressions count towards frequency caps and bill CPM;
   clicks bill CPC up to the budget's hard cap), then the campaign store's daily delivery
   (impressions, clicks, billed spend), and the ad log (for pCTR training);
4. if the ad server's stores are unavailable, the new ids are un-marked and the call fails with 503,
   so the client's retry is counted once the stores are back: acknowledged events are never lost.

The ad log is Parquet (``<state_dir>/ad_log``): one row per event with the impression id, the
position, the page-match features the pCTR model reads, and the kind. ``ad_log_table`` collapses it
to one row per impression with ``clicked``, the trainer's input.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from feedmix.ads.api.event_dedup import EventDedup
from feedmix.ads.decision.ad_decision import AdServer, BillingEvent
from feedmix.ads.decision.ad_token import AdTokens, BadToken, TokenPayload
from feedmix.ads.store.campaign_store import CampaignStore, Delivery
from feedmix.features.offline.parquet_io import list_parquet_files, sql_file_list
from feedmix.features.offline.served_log import ServedFeatureLog

Token = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


class AdEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Token = Field(description="Client-made; a retry reuses it, so the event bills once.")
    type: Literal["impression", "click"]
    ad_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)] = Field(
        description="The ad item's ad_token from the feed response."
    )


class AdEventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    events: list[AdEvent] = Field(min_length=1, max_length=1000)


class InvalidAdEvents(ValueError):
    """A batch with a token that does not verify; ``errors`` are FastAPI-style (loc, msg)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["msg"])
        self.errors = errors


class AdTracker:
    def __init__(
        self,
        server: AdServer,
        store: CampaignStore,
        tokens: AdTokens,
        dedup: EventDedup,
        log: ServedFeatureLog,
    ) -> None:
        self.server, self.store, self.tokens, self.dedup, self.log = server, store, tokens, dedup, log

    def track(self, batch: AdEventBatch, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        payloads: list[TokenPayload] = []
        errors = []
        for i, event in enumerate(batch.events):
            try:
                payloads.append(self.tokens.verify(event.ad_token, now))
            except BadToken as exc:
                loc = ["body", "events", i, "ad_token"]
                errors.append({"loc": loc, "msg": str(exc), "type": "bad_token"})
        if errors:
            raise InvalidAdEvents(errors)
        fresh = self.dedup.first_seen([e.event_id for e in batch.events])
        new = [(e, p) for e, p, f in zip(batch.events, payloads, fresh, strict=True) if f]
        try:
            billing = [self._apply(e, p, now) for e, p in new]
        except Exception:
            self.dedup.forget([e.event_id for e, _ in new])  # the client retries; it must count then
            raise
        self.store.record_deliveries(_deliveries(billing))
        if new:
            self.log.append(_log_rows(new, billing, now))
        return {
            "accepted": len(new),
            "duplicates": len(batch.events) - len(new),
            "billed_micros": sum(b.billed_micros for b in billing),
            "unbilled_micros": sum(b.unbilled_micros for b in billing),
        }

    def _apply(self, event: AdEvent, payload: TokenPayload, now: float) -> BillingEvent:
        if event.type == "impression":
            return self.server.record_impression(payload.user_id, payload.served, now)
        return self.server.record_click(payload.served, now)


def _deliveries(billing: Sequence[BillingEvent]) -> list[Delivery]:
    sums: dict[tuple[str, str, dt.date], list[int]] = defaultdict(lambda: [0, 0, 0])
    for b in billing:
        day = dt.datetime.fromtimestamp(b.ts, tz=dt.UTC).date()
        s = sums[(b.campaign_id, b.ad_group_id, day)]
        s[0 if b.kind == "impression" else 1] += 1
        s[2] += b.billed_micros
    return [Delivery(c, g, d, i, k, m) for (c, g, d), (i, k, m) in sums.items()]


def _log_rows(
    new: Sequence[tuple[AdEvent, TokenPayload]], billing: Sequence[BillingEvent], now: float
) -> dict[str, Any]:
    return {
        "ts": [now] * len(new),
        "kind": [e.type for e, _ in new],
        "impression_id": [p.impression_id for _, p in new],
        "user_id": [p.user_id for _, p in new],
        "request_id": [p.request_id for _, p in new],
        # what the event billed: experiments read revenue per user and page from here
        "billed_micros": [b.billed_micros for b in billing],
        "campaign_id": [p.served.campaign_id for _, p in new],
        "ad_group_id": [p.served.ad_group_id for _, p in new],
        "ad_id": [p.served.ad_id for _, p in new],
        "position": [p.position for _, p in new],
        "slot": [p.served.slot for _, p in new],
        "community_match": [p.community_match for _, p in new],
        "keyword_overlap": [p.keyword_overlap for _, p in new],
    }


def ad_revenue_rows(log_dir: str | Path) -> list[tuple[str, str | None, float, int]]:
    """Every billed ad event as (user id, request id, time, billed micros): what an experiment's
    revenue per page view sums. Files written before the log had ``billed_micros`` count as 0."""
    rows = _select(log_dir, "user_id, request_id, ts, billed_micros", "billed_micros > 0")
    return [(str(u), None if r is None else str(r), float(t), int(m)) for u, r, t, m in rows]


def ad_outcome_rows(log_dir: str | Path) -> list[tuple[str, str, float, int]]:
    """Every tracked ad event as (campaign id, "impression" or "click", time, billed micros): what a
    campaign-unit experiment counts per campaign."""
    rows = _select(log_dir, "campaign_id, kind, ts, billed_micros", "TRUE")
    return [(str(c), str(k), float(t), int(m)) for c, k, t, m in rows]


def _select(log_dir: str | Path, columns: str, where: str) -> list[tuple[Any, ...]]:
    files = list_parquet_files(Path(log_dir))
    if not files:
        return []
    con = duckdb.connect(config={"threads": 1})
    try:
        return con.sql(
            f"""
            SELECT {columns}
            FROM read_parquet({sql_file_list(files)}, union_by_name = true)
            WHERE billed_micros IS NOT NULL AND {where}
            """
        ).fetchall()
    except duckdb.BinderException:  # only files from before billed_micros existed
        return []
    finally:
        con.close()


def ad_log_table(log_dir: str | Path) -> pa.Table:
    """One row per logged impression with ``clicked`` (any click with its impression id): the
    columns of ``feedmix.ads.pctr.ad_log_generator.LOG_COLUMNS``, what ``PctrModel.train`` reads."""
    files = list_parquet_files(Path(log_dir))
    con = duckdb.connect(config={"threads": 1})
    try:
        if not files:
            return pa.table({"ad_group_id": pa.array([], pa.string())})
        return con.sql(
            f"""
            WITH ev AS (SELECT * FROM read_parquet({sql_file_list(files)}, union_by_name = true))
            SELECT i.ad_group_id, i.campaign_id, i.position, i.community_match, i.keyword_overlap,
                   EXISTS (SELECT 1 FROM ev c WHERE c.kind = 'click' AND c.impression_id = i.impression_id)
                     AS clicked
            FROM (SELECT * FROM ev WHERE kind = 'impression') i
            ORDER BY i.ts
            """
        ).to_arrow_table()
    finally:
        con.close()

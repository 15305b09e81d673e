"""The experiment store in SQL (SQLAlchemy Core): one implementation for SQLite and PostgreSQL, one schema
(:mod:`feedmix.experiments.migrations`), so the embedded default and the shared server behave the same
and the same contract tests run against both. Open one with
:func:`feedmix.experiments.backends.open_experiment_store`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa

from feedmix.experiments import migrations, rules
from feedmix.experiments.experiment_store import Change, ExperimentsSnapshot
from feedmix.experiments.model import Experiment, ExperimentError, NotFound, experiment_from_stored
from feedmix.experiments.request_stats import StatsRow
from feedmix.sql.engines import SqlTarget
from feedmix.sql.revisioned_store import RevisionedStore

_md = sa.MetaData()
experiments_t = sa.Table(
    "exp_experiments",
    _md,
    sa.Column("experiment_id", sa.Text, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("layer", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_ts", sa.Double, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
)
holdouts_t = sa.Table(
    "exp_holdouts",
    _md,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("share", sa.Double, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
)
revision_t = sa.Table(
    "exp_revision",
    _md,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
request_stats_t = sa.Table(
    "exp_request_stats",
    _md,
    sa.Column("experiment_id", sa.Text, primary_key=True),
    sa.Column("bucket_version", sa.Integer, primary_key=True),
    sa.Column("variant", sa.Text, primary_key=True),
    sa.Column("day", sa.BigInteger, primary_key=True),
    sa.Column("bucket", sa.Integer, primary_key=True),
    sa.Column("requests", sa.BigInteger, nullable=False),
    sa.Column("degraded", sa.BigInteger, nullable=False),
)
TABLES: tuple[sa.Table, ...] = (experiments_t, holdouts_t, revision_t, request_stats_t)
_STATS_KEYS = ("experiment_id", "bucket_version", "variant", "day", "bucket")


def _body(exp: Experiment) -> str:
    return json.dumps(exp.as_dict(), sort_keys=True, separators=(",", ":"))


def _experiment(row: Any) -> Experiment:
    return experiment_from_stored(json.loads(row.body)).replace(revision=int(row.revision))


class SqlExperimentStore(RevisionedStore):
    """``ExperimentStore`` over SQLAlchemy Core; thread-safe (a connection pool, one transaction per call)."""

    def __init__(self, target: SqlTarget, *, migrate: bool = True) -> None:
        super().__init__(target, migrations.HISTORY, revision_t, migrate=migrate)

    def create(self, experiment: Experiment, now: float) -> Experiment:
        with self._write() as (conn, rev):
            taken = conn.execute(
                sa.select(experiments_t.c.experiment_id).where(
                    experiments_t.c.experiment_id == experiment.experiment_id
                )
            ).first()
            if taken is not None:
                raise ExperimentError(
                    "experiment_id", f"{experiment.experiment_id!r} already exists", status=409
                )
            stored = experiment.replace(status="draft", created_ts=now, revision=rev)
            conn.execute(
                experiments_t.insert().values(
                    experiment_id=stored.experiment_id,
                    status=stored.status,
                    layer=stored.layer,
                    body=_body(stored),
                    created_ts=now,
                    revision=rev,
                )
            )
        return stored

    def get(self, experiment_id: str) -> Experiment:
        with self._read() as conn:
            row = conn.execute(
                sa.select(experiments_t).where(experiments_t.c.experiment_id == experiment_id)
            ).first()
        if row is None:
            raise NotFound(experiment_id)
        return _experiment(row)

    def list(self, statuses: Collection[str] | None = None) -> list[Experiment]:
        q = sa.select(experiments_t).order_by(
            experiments_t.c.created_ts.desc(), experiments_t.c.experiment_id
        )
        if statuses is not None:
            q = q.where(experiments_t.c.status.in_(list(statuses)))
        with self._read() as conn:
            return [_experiment(r) for r in conn.execute(q)]

    def update(self, experiment_id: str, change: Change) -> Experiment:
        with self._write() as (conn, rev):
            row = conn.execute(
                sa.select(experiments_t).where(experiments_t.c.experiment_id == experiment_id)
            ).first()
            if row is None:
                raise NotFound(experiment_id)
            current = _experiment(row)
            running = [
                _experiment(r)
                for r in conn.execute(sa.select(experiments_t).where(experiments_t.c.status == "running"))
            ]
            holdouts = {r.scope: float(r.share) for r in conn.execute(sa.select(holdouts_t))}
            changed = change(current, [e for e in running if e.experiment_id != experiment_id], holdouts)
            if changed.experiment_id != experiment_id:
                raise ExperimentError("experiment_id", "an experiment's id cannot change")
            stored = changed.replace(revision=rev)
            conn.execute(
                experiments_t.update()
                .where(experiments_t.c.experiment_id == experiment_id)
                .values(status=stored.status, layer=stored.layer, body=_body(stored), revision=rev)
            )
        return stored

    def holdouts(self) -> dict[str, float]:
        with self._read() as conn:
            return {r.scope: float(r.share) for r in conn.execute(sa.select(holdouts_t))}

    def set_holdout(self, scope: str, share: float) -> None:
        with self._write() as (conn, rev):
            running = [
                _experiment(r)
                for r in conn.execute(sa.select(experiments_t).where(experiments_t.c.status == "running"))
            ]
            rules.check_holdout(scope, share, running)
            conn.execute(holdouts_t.delete().where(holdouts_t.c.scope == scope))
            conn.execute(holdouts_t.insert().values(scope=scope, share=float(share), revision=rev))

    def snapshot(self) -> ExperimentsSnapshot:
        with self._read(consistent=True) as conn:
            rev = self._current(conn)
            running = tuple(
                _experiment(r)
                for r in conn.execute(
                    sa.select(experiments_t)
                    .where(experiments_t.c.status == "running")
                    .order_by(experiments_t.c.experiment_id)
                )
            )
            holdouts = {r.scope: float(r.share) for r in conn.execute(sa.select(holdouts_t))}
        return ExperimentsSnapshot(rev, running, holdouts)

    def add_request_stats(self, rows: Sequence[StatsRow]) -> None:
        """Add per-variant request counts (``feedmix.experiments.request_stats``); adds across processes."""
        merged: dict[tuple[str, int, str, int, int], list[int]] = {}
        for r in rows:
            cell = merged.setdefault((r.experiment_id, r.bucket_version, r.variant, r.day, r.bucket), [0, 0])
            cell[0] += r.requests
            cell[1] += r.degraded
        values = [
            {**dict(zip(_STATS_KEYS, key, strict=True)), "requests": n, "degraded": d}
            for key, (n, d) in sorted(merged.items())
        ]
        self._add(request_stats_t, _STATS_KEYS, ("requests", "degraded"), values)

    def request_stats(self, experiment_id: str, bucket_version: int) -> Sequence[StatsRow]:
        q = sa.select(request_stats_t).where(
            request_stats_t.c.experiment_id == experiment_id,
            request_stats_t.c.bucket_version == bucket_version,
        )
        with self._read() as conn:
            return [
                StatsRow(r.experiment_id, int(r.bucket_version), r.variant, int(r.day), int(r.bucket),
                         int(r.requests), int(r.degraded))
                for r in conn.execute(q)
            ]  # fmt: skip

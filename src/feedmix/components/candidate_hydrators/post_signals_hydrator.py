"""Adds each candidate's content signals (intent, sentiment, commercial, category, brand safety, product
mentions: ``ranking.ranker_features.SIGNAL_FEATURES``) from the served corpus' signal table, by row.

The table is loaded or labelled in the background (``feedmix.signals.corpus_signals``); until it is
ready the columns are NaN, which a ranker trained with them reads as "not labelled" (its missing branch),
so the feed never waits for the signals."""

from __future__ import annotations

from collections.abc import Mapping

import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import CandidateHydrator
from feedmix.core.query import Query
from feedmix.ranking.ranker_features import SIGNAL_FEATURES, signal_features
from feedmix.retrieval.rows import ROW
from feedmix.signals.corpus_signals import CorpusSignals


class PostSignalsHydrator(CandidateHydrator):
    READS = (ROW,)
    WRITES = SIGNAL_FEATURES
    owner = "content-signals"

    def __init__(self, identifier: str, corpus_signals: CorpusSignals | None = None) -> None:
        super().__init__(identifier)
        self.corpus_signals = corpus_signals

    def hydrate(self, query: Query, batch: CandidateBatch) -> Mapping[str, npt.ArrayLike]:
        table = self.corpus_signals.table if self.corpus_signals is not None else None
        return signal_features(table, batch.column(ROW))

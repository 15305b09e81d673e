"""The sweeps of ``feedmix bench scaling`` and their default points: what the command line offers
and what :class:`feedmix.bench.scaling.ScalingOptions` runs when given nothing. Kept apart from
``scaling`` so that declaring the command (``bench.cli``) imports nothing heavy."""

from __future__ import annotations

import os

SWEEPS = ("corpus", "candidates", "processes")
#: 5M is the top of the sweep by default and the expensive point to build: on the shared 2-core machine
#: its content index took 15 minutes (embeddings 206 s, IVF training and adding 681 s, 7.6 GiB peak
#: RSS), once; the build is cached under ``--state`` and later runs only measure
DEFAULT_CORPUS_SIZES = (100_000, 428_667, 1_000_000, 2_000_000, 5_000_000)
DEFAULT_CANDIDATES = (250, 500, 1000, 2000, 4000)
DEFAULT_PROCESSES = (1, 2, 4)
DEFAULT_STATE = os.path.join("var", "bench", "scaling")

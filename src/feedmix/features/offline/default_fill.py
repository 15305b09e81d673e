"""The one step where missing feature values (NULL) become numbers, kept apart from the join.

``build_training_rows`` returns NULL for a feature with no value known at the impression (never
written, or older than its TTL). A model cannot take NULL, but filling it inside the join would
hide the difference between "missing" and a real zero, and would put the default in a second
place where it can drift from the one serving uses. Pass the same defaults serving applies (the
feature registry's); ``indicators=True`` adds ``<column>.missing`` so the model can learn from the
absence itself, which is often predictive (a brand-new post has no CTR yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

MISSING_SUFFIX = ".missing"


def fill_defaults(
    table: pa.Table, defaults: Mapping[str, Any], *, indicators: bool = False, strict: bool = True
) -> pa.Table:
    """``table`` with the NULLs of each column in ``defaults`` replaced by its default.

    ``strict`` raises on a default for a column the table lacks (a renamed feature would
    otherwise silently stop being filled); the indicator column goes right after its column.
    """
    missing = [name for name in defaults if name not in table.column_names]
    if strict and missing:
        raise KeyError(f"defaults name columns the table lacks: {missing}")
    for name, default in defaults.items():
        if name not in table.column_names:
            continue
        idx = table.column_names.index(name)
        col = table.column(name)
        if pa.types.is_null(col.type):  # a feature never written anywhere: no type to keep
            col = col.cast(pa.scalar(default).type)
        filled = pc.fill_null(col, pa.scalar(default, type=col.type))
        table = table.set_column(idx, name, filled)
        if indicators:
            table = table.add_column(idx + 1, name + MISSING_SUFFIX, pc.is_null(col))
    return table

"""How every benchmark hands its result over: JSON on stdout (for pipes and for people), and the same
text in ``--out`` when asked (the file the README's figures cite)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit(result: Any, out: str | None, indent: int = 1) -> None:
    text = json.dumps(result, indent=indent)
    print(text)
    if out:
        Path(out).write_text(text + "\n")

"""Versioned prompts: a template rendered with the codebook and its additions, plus the JSON schema the
answer must follow. The digest covers the rendered text and the schema, so editing the codebook, the
additions or the template makes a new prompt, and every cached or recorded judgement names the digest it
answered."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from feedmix.signals.codebook import ADDITIONS_PATH, CODEBOOK_PATH
from feedmix.signals.label_schema import SCHEMA_PATH

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


@dataclass(frozen=True)
class Prompt:
    name: str
    text: str
    schema_text: str

    @property
    def digest(self) -> str:
        return hashlib.sha256((self.text + "\0" + self.schema_text).encode()).hexdigest()[:16]

    @property
    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = json.loads(self.schema_text)
        return schema


@cache
def load_prompt(name: str = "label-v1") -> Prompt:
    path = PROMPTS_DIR / f"{name}.md"
    if not path.is_file():
        raise ValueError(f"prompt {name!r} not found in {PROMPTS_DIR}")
    additions = ADDITIONS_PATH.read_text().split("\n## Fields", 1)[1]
    schema_path = PROMPTS_DIR / f"{name}.schema.json"
    schema = (schema_path if schema_path.is_file() else SCHEMA_PATH).read_text()
    text = path.read_text().format(codebook=CODEBOOK_PATH.read_text(), additions=additions, schema=schema)
    return Prompt(name=name, text=text, schema_text=schema)

"""A label as a person or an LLM writes it (``prompts/label-v1.schema.json``), checked against the schema
and the codebook's cross-field rules. Gold labels, recorded judgements and live judge answers all pass
through here, so a malformed one is refused with the post and the field named, never scored."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from feedmix.signals.codebook import reason_tier

SCHEMA_PATH = Path(__file__).parent / "prompts" / "label-v1.schema.json"


@cache
def label_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return schema


class LabelError(ValueError):
    """A label that breaks the schema or the codebook."""


def check_label(label: Any, text: str, post_id: str) -> dict[str, Any]:
    """The label, if it is valid for the post whose text (title + blank line + selftext) is ``text``."""
    where = f"label of post {post_id}"
    if not isinstance(label, dict):
        raise LabelError(f"{where}: expected a JSON object")
    schema = label_schema()
    missing = [k for k in schema["required"] if k not in label]
    if missing:
        raise LabelError(f"{where}: missing fields {missing}")
    extra = sorted(set(label) - set(schema["properties"]))
    if extra:
        raise LabelError(f"{where}: unknown fields {extra}")
    for field, spec in schema["properties"].items():
        value = label[field]
        if "enum" in spec and value not in spec["enum"]:
            raise LabelError(f"{where}: {field} {value!r} is not one of {spec['enum']}")
    if not isinstance(label["commercial"], bool):
        raise LabelError(f"{where}: commercial must be true or false")
    products = label["products"]
    if not isinstance(products, list) or not all(isinstance(p, str) and p for p in products):
        raise LabelError(f"{where}: products must be a list of names")
    if label["commercial"] != (label["category"] is not None):
        raise LabelError(f"{where}: category must be null exactly when commercial is false")
    if (label["stance"] is None) != (not products):
        raise LabelError(f"{where}: stance must be null exactly when no product is named")
    reason, tier = label["brand_safety_reason"], label["brand_safety"]
    if reason_tier(reason) != tier:
        raise LabelError(f"{where}: brand_safety_reason {reason!r} does not fit {tier!r}")
    for name in products:
        if name not in text:
            raise LabelError(f"{where}: product {name!r} does not occur in the post's text")
    return label

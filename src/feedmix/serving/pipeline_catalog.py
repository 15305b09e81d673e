"""What a pipeline is made of, for the console's components page and anyone asking ``GET /v1/pipelines``:
its stages in execution order, each component with its type, owner, kind, declared columns and flags,
and every param with its bounds, its default and its current value (the process's config applied).
Read from the built pipelines, so it can never drift from what serves."""

from __future__ import annotations

from typing import Any

from feedmix.core.pipeline import SLOTS, Pipeline, type_name_for


def describe(pipeline: Pipeline) -> dict[str, Any]:
    current = pipeline.default_params
    params_of: dict[str, list[dict[str, Any]]] = {}
    for spec in pipeline.param_registry.specs():
        owner, _, short = spec.name.partition(".")
        params_of.setdefault(owner, []).append(
            {
                "name": spec.name,
                "param": short,
                "type": spec.type.__name__,
                "default": spec.default,
                "current": current[spec.name],
                "min": spec.min,
                "max": spec.max,
                "choices": list(spec.choices) if spec.choices else None,
                "description": spec.description,
            }
        )
    stages = []
    for slot in SLOTS:
        components = getattr(pipeline, slot)
        if not components:
            continue
        stages.append(
            {
                "stage": slot,
                "components": [
                    {
                        "id": c.identifier,
                        "type": type_name_for(type(c).__name__),
                        "kind": c.KIND,
                        "owner": c.owner,
                        "essential": c.essential,
                        "inline": c.inline,
                        "reads": list(c.reads),
                        "writes": list(c.writes),
                        "reads_query": list(c.reads_query),
                        "writes_query": list(c.writes_query),
                        "params": params_of.get(c.identifier, []),
                    }
                    for c in components
                ],
            }
        )
    return {
        "name": pipeline.name,
        "surface": pipeline.surface,
        "stages": stages,
        "pipeline_params": params_of.get("pipeline", []),
    }

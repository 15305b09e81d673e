"""Every registered component type keeps every framework contract (``feedmix.testing.check_component``),
on the inputs its product pipeline really hands it: a new component module, once a product names it,
is tested here without a line of test code of its own."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from feedmix.config import FeedmixConfig
from feedmix.core.pipeline import SLOTS, ComponentSpec
from feedmix.products import PIPELINES
from feedmix.products.components import product_registry
from feedmix.serving.runtime import Runtime
from feedmix.simulation.population import user_id_for
from feedmix.testing import PipelineInputs, check_component, pipeline_inputs

TYPES = product_registry().types()


def _first_use(type_name: str) -> tuple[str, str] | None:
    """(product, identifier) of the first slot that names ``type_name``."""
    for product, raw in PIPELINES.items():
        for slot in SLOTS:
            for entry in raw.get(slot, ()):
                spec = ComponentSpec.parse(entry)
                if spec.type == type_name:
                    return product, spec.identifier
    return None


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    cfg = FeedmixConfig(state_dir=str(tmp_path_factory.mktemp("state")), users=300, ads_demo_campaigns=True)
    rt = Runtime.build(cfg)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def inputs(runtime: Runtime) -> dict[str, PipelineInputs]:
    community = runtime.corpus.communities[int(np.argmax(np.bincount(runtime.corpus.community)))]
    return {
        name: pipeline_inputs(
            pipeline,
            runtime.executor,
            user_id=user_id_for(1),
            now=runtime.corpus.now,
            context={"session_id": "kit-session", "page": 0, "community": community},
        )
        for name, pipeline in runtime.pipelines.items()
    }


def test_every_registered_type_is_used_by_a_product() -> None:
    assert len(TYPES) >= 25
    unused = [t for t in TYPES if _first_use(t) is None]
    assert not unused, f"component types no product names (so nothing tests them on real inputs): {unused}"


@pytest.mark.parametrize("type_name", TYPES)
def test_component_keeps_every_framework_contract(
    type_name: str, runtime: Runtime, inputs: dict[str, PipelineInputs]
) -> None:
    used = _first_use(type_name)
    assert used is not None
    product, identifier = used
    component = runtime.pipelines[product].components[identifier]
    got = inputs[product]
    report = check_component(component, got.query, got.batch_for(component), result=got.result)
    assert report.component == identifier
    assert "respects its enable switch" in report.checked
    assert any(c.startswith("deterministic") for c in report.checked)
    assert not report.fallbacks, f"{identifier} fell back on healthy in-memory stores: {report.fallbacks}"


def test_the_inputs_are_real_requests(inputs: dict[str, PipelineInputs]) -> None:
    home = inputs["home"]
    assert len(home.candidates) > 100 and len(home.result.page) == 25
    assert {"row", "score", "source", "community", "quality"} <= set(home.candidates.column_names)
    assert "user.affinity" in home.query.features
    assert len(inputs["community"].candidates) > 25


def test_the_blender_is_checked_on_a_page_with_ads(inputs: dict[str, PipelineInputs]) -> None:
    kinds = inputs["home"].result.batch.column("kind")
    assert (kinds == "ad").sum() >= 1 and (kinds == "post").sum() == 25

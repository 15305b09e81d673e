"""The component test kit: what a product engineer needs to test a new component, and the contracts
the framework holds every component to.

``make_query`` builds a request holding a component's declared params (with overrides checked like a
request's), ``make_batch`` a read-only candidate batch with the columns it reads, ``pipeline_inputs``
the real query and batch a product pipeline hands its components, and ``check_component`` runs every
framework contract on one component. ``tests/components/test_every_component_contract.py`` runs it on
every registered component type, so a new component is tested by the framework for free.
"""

from feedmix.testing.batch_builder import make_batch, read_only
from feedmix.testing.component_contract import ContractReport, ContractViolation, check_component
from feedmix.testing.pipeline_inputs import PipelineInputs, pipeline_inputs
from feedmix.testing.query_builder import make_query

__all__ = [
    "ContractReport",
    "ContractViolation",
    "PipelineInputs",
    "check_component",
    "make_batch",
    "make_query",
    "pipeline_inputs",
    "read_only",
]

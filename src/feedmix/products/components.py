"""The component types product pipelines may name: every module of ``feedmix.components``.

Adding a component is one module in the folder of its kind (``components/filters/my_rule_filter.py``
holding ``MyRuleFilter``) and one line in a pipeline's config (``"my_rule_filter"``): discovery
registers it under its module's name and ``Component.from_deps`` wires what its constructor names
from :class:`FeedDeps`.
"""

from __future__ import annotations

from feedmix.core.pipeline import ComponentRegistry
from feedmix.products.deps import FeedDeps

COMPONENTS_PACKAGE = "feedmix.components"


def product_registry() -> ComponentRegistry:
    registry = ComponentRegistry()
    registry.discover(COMPONENTS_PACKAGE)
    return registry


__all__ = ["FeedDeps", "product_registry"]

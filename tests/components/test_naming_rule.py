"""Every component module follows the one rule: module name = config type = snake_case(class name),
filed in the folder of its kind."""

from __future__ import annotations

import importlib
import pkgutil

import feedmix.components
from feedmix.core.pipeline import SLOTS, class_name_for, type_name_for
from feedmix.products.components import product_registry


def test_every_component_module_holds_the_class_of_its_name_and_kind() -> None:
    modules = [
        m.name
        for m in pkgutil.walk_packages(feedmix.components.__path__, prefix="feedmix.components.")
        if not m.ispkg
    ]
    assert len(modules) >= 25
    for name in modules:
        kind_folder, type_name = name.rsplit(".", 2)[-2:]
        cls = getattr(importlib.import_module(name), class_name_for(type_name))
        assert type_name_for(cls.__name__) == type_name
        assert issubclass(cls, SLOTS[kind_folder]), name


def test_discovery_registers_every_module_under_its_name() -> None:
    types = product_registry().types()
    assert "seen_posts_filter" in types and "ads_blender" in types and "session_record_side_effect" in types
    assert all(type_name_for(class_name_for(t)) == t for t in types)

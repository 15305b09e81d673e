"""The concrete feeds: component wiring for each surface."""

"""Scorers: a new ``score`` column (and named ``score.*`` parts, so a trace says why an item ranks), in
slot order, each one able to build on the previous score."""

"""Subcommands whose options belong to a module's own ``main(argv)`` (a benchmark, an evaluation), so
they can run as ``python -m`` as well and ``--help`` is answered where the options are declared."""

from __future__ import annotations

import argparse
from typing import Any


def forward(sub: Any, name: str, help_text: str, module: str) -> None:
    """A subcommand whose options belong to ``module.main(argv)``: ``--help`` is answered there."""
    p = sub.add_parser(name, help=help_text, add_help=False)

    def run(args: argparse.Namespace) -> int:
        import importlib

        return int(importlib.import_module(module).main(args.forwarded))

    p.set_defaults(func=run, forwarded=[])

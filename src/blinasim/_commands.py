"""Registry of CLI command groups: each subpackage contributes its own typer app here."""

from __future__ import annotations

import importlib

import typer

# (command name, module path, attribute): one line per command group.
_GROUPS: list[tuple[str, str, str]] = [
    ("trial", "blinasim.trial.cli", "app"),
    ("protocol", "blinasim.protocol.cli", "app"),
    ("calibrate", "blinasim.calibrate.cli", "app"),
    ("params", "blinasim.params_cli", "app"),
]


def groups() -> list[tuple[str, typer.Typer]]:
    """The registered (name, typer app) pairs, imported lazily."""
    out = []
    for name, module, attr in _GROUPS:
        out.append((name, getattr(importlib.import_module(module), attr)))
    return out

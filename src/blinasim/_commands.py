"""The command groups attached to the root command line: one line per group."""

from __future__ import annotations

import typer

from blinasim.commands import calibrate, params, protocol, trial, validate


def groups() -> list[tuple[str, typer.Typer]]:
    """The (name, typer app) pairs of ``blinasim <name> ...``."""
    return [
        ("trial", trial.app),
        ("protocol", protocol.app),
        ("calibrate", calibrate.app),
        ("params", params.app),
        ("validate", validate.app),
    ]

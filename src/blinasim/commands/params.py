"""``blinasim params ...``: validate a user parameter file, show the model parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from blinasim.config import ParameterSet
from blinasim.errors import BlinasimError
from blinasim.model.parameters import load_parameter_file

app = typer.Typer(
    help="Model parameters: validate a parameter file, show parameters with their sources.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _fail(exc: BlinasimError) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Parameter YAML file (any subset of parameters).")],
) -> None:
    """Check a parameter file: ``FILE: ok (N parameters)``, or one error line (exit 2)."""
    try:
        load_parameter_file(file)
        n = _count(file)
    except BlinasimError as exc:
        raise _fail(exc) from None
    console.print(f"{escape(str(file))}: ok ({n} parameters)", highlight=False, soft_wrap=True)


def _count(file: Path) -> int:
    """Number of parameters the file sets (validated already)."""
    import yaml

    doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    return sum(len(body) for body in doc.values())


@app.command()
def show(
    name: Annotated[
        str | None,
        typer.Argument(help="A parameter (pk.omega_cl) or a section (pk); default: all."),
    ] = None,
    params: Annotated[
        Path | None, typer.Option("--params", help="A user parameter file over the shipped one.")
    ] = None,
) -> None:
    """Show parameters: value, unit, provenance and source."""
    try:
        ps = load_parameter_file(params) if params is not None else ParameterSet.load()
        if name is None:
            keys = list(ps)
        elif name in ps:
            keys = [name]
        else:
            keys = ps.keys_under(name)
            if not keys:
                ps[name]  # raises: a known parameter expected
    except BlinasimError as exc:
        raise _fail(exc) from None
    table = Table(title=f"Parameters ({escape(ps.origin)})")
    for col in ("parameter", "value", "unit", "provenance", "source"):
        table.add_column(col, overflow="fold")
    for k in keys:
        p = ps[k]
        table.add_row(
            escape(k), escape(str(p.value)), escape(p.unit), p.provenance, escape(p.source)
        )
    console.print(table)

"""``blinasim protocol ...``: list, show and validate treatment protocols."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from blinasim.errors import ProtocolError
from blinasim.protocol.core import Arm, Protocol
from blinasim.protocol.loader import load_protocol, shipped_dir, shipped_protocols

app = typer.Typer(
    help="Treatment protocols as data: list the shipped ones, show an arm's timeline, "
    "validate a protocol file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _load_or_exit(ref: str | Path) -> Protocol:
    try:
        return load_protocol(ref)
    except ProtocolError as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from None


@app.command("list")
def list_protocols() -> None:
    """List the shipped protocols and example variants."""
    table = Table(title="Shipped protocols", show_lines=False)
    for col in ("name", "where", "arms", "description"):
        table.add_column(col, overflow="fold")
    base = shipped_dir()
    for name, path in shipped_protocols().items():
        proto = _load_or_exit(path)
        where = "example" if path.parent != base else "shipped"
        arms = ", ".join(f"{a.name} ({a.stratum})" for a in proto.arms.values())
        desc = " ".join(proto.description.split())
        table.add_row(name, where, arms, desc[:160] + ("..." if len(desc) > 160 else ""))
    console.print(table)


def _arm_table(arm: Arm) -> Table:
    rand = (
        f"randomized after {arm.randomized_after} (day {arm.randomization_day})"
        if arm.randomized_after
        else "not randomized"
    )
    role = "control" if arm.control else "experimental" if arm.randomized_after else "assigned"
    table = Table(
        title=f"Arm {arm.name}: {arm.label}",
        caption=f"{arm.stratum}, {role}, {rand}; therapy ends on day {arm.end_day}; "
        f"blinatumomab {arm.blinatumomab_days()} days",
        show_lines=True,
    )
    table.add_column("phase", overflow="fold")
    table.add_column("kind", overflow="fold", max_width=14)
    table.add_column("start\nday", justify="right")
    table.add_column("end\nday", justify="right")
    table.add_column("days", justify="right")
    table.add_column("drugs", overflow="fold", ratio=1)
    for p in arm.phases:
        drugs = "\n".join(a.describe() for a in p.drugs)
        if p.repeat_every_days:
            drugs = f"(every {p.repeat_every_days} days)\n" + drugs
        table.add_row(
            p.name,
            p.kind,
            str(p.start_day),
            str(p.end_day),
            str(p.length_days),
            escape(drugs),
        )
    return table


@app.command()
def show(
    protocol: Annotated[str, typer.Argument(help="A shipped protocol name or a YAML file.")],
    arm: Annotated[
        str | None, typer.Option("--arm", "-a", help="Show only this arm (e.g. B).")
    ] = None,
) -> None:
    """Show each arm's timeline: phases, days from diagnosis (end exclusive), drugs."""
    proto = _load_or_exit(protocol)
    if arm is not None and arm not in proto.arms:
        err_console.print(
            f"[bold red]error:[/] {escape(proto.origin)}: --arm: expected one of "
            f"{list(proto.arms)}, got {arm!r}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    console.print(f"[bold]{escape(proto.name)}[/]: {escape(' '.join(proto.description.split()))}")
    console.print(f"source: {escape(' '.join(proto.source.split()))}", highlight=False)
    for a in proto.arms.values():
        if arm is None or a.name == arm:
            console.print(_arm_table(a))


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Protocol YAML file to check.")],
) -> None:
    """Check a protocol file: print OK and a summary, or one error line (exit status 2)."""
    proto = _load_or_exit(file)
    console.print(
        f"OK {escape(str(file))}: protocol {escape(proto.name)}, {len(proto.arms)} arms",
        highlight=False,
    )
    for a in proto.arms.values():
        rand = f"randomized after {a.randomized_after}" if a.randomized_after else "not randomized"
        console.print(
            f"  {a.name}: {a.stratum}, {'control' if a.control else 'not control'}, {rand}, "
            f"{len(a.phases)} phases, days 0-{a.end_day}, "
            f"blinatumomab {a.blinatumomab_days()} days",
            highlight=False,
        )

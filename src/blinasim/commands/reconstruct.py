"""``blinasim reconstruct``: individual data from a published Kaplan-Meier figure (Guyot 2012).

A plain command (registered on the root app by :mod:`blinasim.cli`): parse, call
:func:`blinasim.jobs.reconstruct.reconstruct_files`, print the checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from blinasim.jobs.reconstruct import TIME_UNITS, reconstruct_files

console = Console()


def reconstruct(
    points: Annotated[
        Path,
        typer.Argument(help="Points read off the curve: columns time, survival (0-1) [, arm]."),
    ],
    at_risk: Annotated[
        Path,
        typer.Option(
            "--at-risk", help="Numbers at risk under the figure: time, n_risk [, arm]; from 0."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="ADTTE file to write (.csv or .parquet).")
    ],
    total_events: Annotated[
        list[str] | None,
        typer.Option(
            "--total-events", help="Published number of events: N, or ARM=N per arm (repeatable)."
        ),
    ] = None,
    time_unit: Annotated[
        str, typer.Option(help=f"Time unit of the figure ({', '.join(TIME_UNITS)}).")
    ] = "days",
    paramcd: Annotated[str, typer.Option(help="PARAMCD of the endpoint (OS, PFS, EFS...).")] = "OS",
) -> None:
    """Reconstruct individual patient data from a published Kaplan-Meier curve (Guyot 2012)."""
    run = reconstruct_files(
        points,
        at_risk,
        out=out,
        total_events=total_events or (),
        time_unit=time_unit,
        paramcd=paramcd,
    )
    t = Table(title=f"Reconstruction checks (times in {run.time_unit})", title_justify="left")
    for col in ("arm", "n", "events", "max |KM - points|", "RMSE", "KS p"):
        t.add_column(col, justify="left" if col == "arm" else "right")
    for arm, r in run.arms.items():
        c = r.checks
        t.add_row(
            escape(arm),
            f"{len(r.time):,}",
            f"{r.n_events:,}",
            f"{c.max_abs_error:.4f}",
            f"{c.rmse:.4f}",
            f"{c.ks_p:.3g}",
        )
    console.print(t)
    for arm, r in run.arms.items():
        a = Table(title=f"numbers at risk, {escape(arm)}", title_justify="left")
        for col in ("time", "published", "estimated", "censored", "events"):
            a.add_column(col, justify="right")
        for row in r.checks.at_risk.to_dict(orient="records"):
            a.add_row(
                f"{row['time']:g}",
                str(row["n_risk"]),
                str(row["n_risk_estimated"]),
                str(row["censored"]),
                str(row["events"]),
            )
        console.print(a)
        if r.checks.dropped_at_risk_rows:
            console.print(
                f"  {r.checks.dropped_at_risk_rows} at-risk row(s) after the last point or "
                "without points in their interval were not used",
                highlight=False,
            )
    console.print(f"ADTTE: [bold]{escape(str(run.out))}[/]")
    console.print(f"checks: {escape(str(run.checks_path))}", highlight=False)


__all__ = ["reconstruct"]

"""``blinasim cea``: cost-effectiveness of frontline blinatumomab (a plain root command).

Registered on the root app by :mod:`blinasim.cli`: parse, call
:func:`blinasim.jobs.cea.run_cea`, print the ICER with its interval, where the report is,
and the disclaimer. User mistakes (a bad setting, ``--psa 0``) are one line, exit 2,
through the CLI's error handling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from blinasim.commands.progress import progress_bar
from blinasim.disclaimer import DISCLAIMER
from blinasim.jobs.cea import CeaConfig, CeaResult, run_cea
from blinasim.reports.cea import icer_text

console = Console()
err_console = Console(stderr=True)


def _interval(d: dict[str, object] | None, fmt: str) -> str:
    if not d or d.get("estimate") is None:
        return "–"
    lo, hi = d.get("lower"), d.get("upper")
    est = fmt.format(d["estimate"])
    return est if lo is None or hi is None else f"{est} ({fmt.format(lo)} to {fmt.format(hi)})"


def print_cea(result: CeaResult) -> None:
    """Per arm costs and QALYs, the ICER with its interval, and where the report is."""
    s = result.summary
    cur = s["currency"]
    who = f"{s['n']:,} children per arm"
    if s.get("origin") == "randomization":
        kept = s.get("model_outcomes", {}).get("chemotherapy", {}).get("children", 0.0)
        who = f"{s['n']:,} children at diagnosis, {kept:,.0f} randomized per arm on average"
    t = Table(
        title=f"{s['setting']['name']}: {s['psa']:,} PSA iterations x {who} ({cur} "
        f"{s['price_year']}, discounted)",
        title_justify="left",
    )
    for c in ("per child", "costs", "life-years", "QALYs"):
        t.add_column(c, justify="left" if c == "per child" else "right")
    for arm in ("chemotherapy", "blinatumomab"):
        a = s["per_arm"][arm]
        t.add_row(
            arm,
            _interval(a["costs"], "{:,.0f}"),
            _interval(a.get("life_years"), "{:.2f}"),
            _interval(a["qalys"], "{:.3f}"),
        )
    t.add_row(
        "increment",
        _interval(s["incremental_costs"], "{:,.0f}"),
        _interval(s.get("incremental_life_years"), "{:.2f}"),
        _interval(s["incremental_qalys"], "{:.3f}"),
    )
    console.print(t)
    lam = float(s["threshold"])
    p = s["prob_cost_effective"].get(str(lam))
    console.print(f"ICER: {escape(icer_text(s))}", highlight=False, soft_wrap=True)
    console.print(
        f"net monetary benefit at {cur} {lam:,.0f}/QALY: {_interval(s['nmb'], '{:,.0f}')}; "
        f"probability cost-effective {'–' if p is None else f'{p:.0%}'}",
        highlight=False,
        soft_wrap=True,
    )
    pt = s.get("price_threshold")
    if pt and pt.get("estimate") is not None:
        console.print(
            f"blinatumomab vial price at which the ICER equals the threshold: {cur} "
            f"{pt['estimate']:,.0f} (list {pt['vial_price']:,.2f})",
            highlight=False,
        )
    console.print(f"report: [bold]{escape(str((result.out_dir / 'report.html').resolve()))}[/]")
    console.print(f"[dim]{escape(DISCLAIMER)}[/]")


def cea(
    trial: Annotated[str, typer.Argument(help="Trial whose arms are compared (aall1731).")],
    setting: Annotated[
        str,
        typer.Option(help="Economic setting: canada-2024, uk-nice, us, or a YAML file."),
    ] = "canada-2024",
    psa: Annotated[
        int, typer.Option("--psa", help="PSA iterations (one posterior draw each).")
    ] = 500,
    n: Annotated[int, typer.Option("--n", help="Virtual children per iteration.")] = 30_000,
    seed: Annotated[int, typer.Option(help="Root random seed.")] = 20241207,
    origin: Annotated[
        str, typer.Option(help="Time origin: diagnosis (every child) or randomization.")
    ] = "diagnosis",
    discounting: Annotated[
        str, typer.Option(help="Discounting: continuous or annual (steps per year).")
    ] = "continuous",
    posterior: Annotated[
        str,
        typer.Option(help="Model parameters: 'shipped' posterior, a posterior CSV, or 'none'."),
    ] = "shipped",
    workers: Annotated[int | None, typer.Option(help="Local worker processes.")] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (tcp://host:port).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder.")] = None,
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Discard the checkpoints and results of an earlier CEA."),
    ] = False,
) -> None:
    """Lifetime costs, QALYs and the ICER of frontline blinatumomab, with PSA and a report.

    Interrupted, the same command resumes from the saved iterations, with the same numbers.
    """
    cfg = CeaConfig(
        trial=trial,
        setting=setting,
        psa=psa,
        n=n,
        seed=seed,
        origin=origin,
        discounting=discounting,
        posterior=posterior,
    )
    with progress_bar(err_console, "PSA blocks", None) as update:
        result = run_cea(
            cfg,
            out,
            workers=workers,
            scheduler=scheduler,
            progress=update,
            fresh=fresh,
            warn=lambda line: err_console.print(escape(line), highlight=False, soft_wrap=True),
        )
    print_cea(result)


__all__ = ["cea", "print_cea"]

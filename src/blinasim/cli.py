"""The ``blinasim`` command line (typer + rich).

User mistakes (:class:`blinasim.errors.BlinasimError`) are printed as one line on stderr
and exit with status 2; an interruption (Ctrl-C, SIGTERM) prints one line on what was saved
and exits with 130 or 143; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from blinasim import _commands
from blinasim._version import __version__
from blinasim.commands.cea import cea
from blinasim.commands.predict import predict
from blinasim.commands.progress import progress_bar
from blinasim.commands.reconstruct import reconstruct
from blinasim.commands.serve import serve
from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import BlinasimError
from blinasim.interrupt import Interrupted, Terminated, handle_sigterm
from blinasim.jobs.analyze import analyze_file
from blinasim.jobs.example import run_example
from blinasim.jobs.relapse_run import RELAPSE_TRIALS, run_relapse_trial, summary_lines
from blinasim.jobs.run import RunConfig, run
from blinasim.jobs.scenarios import run_comparison
from blinasim.jobs.text import print_run, print_summary
from blinasim.reports.render import write_report

__all__ = ["DISCLAIMER", "app", "main"]


app = typer.Typer(
    name="blinasim",
    help="In-silico trials of chemotherapy with or without blinatumomab in pediatric B-ALL.\n\n"
    + DISCLAIMER,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"blinasim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """In-silico trials of chemotherapy with or without blinatumomab in pediatric B-ALL."""


@app.command(hidden=True)
def demo() -> None:
    """Deprecated alias of 'blinasim example'."""
    err_console.print(
        "'blinasim demo' is deprecated: use 'blinasim example' ('make demo' runs the AALL1731 job)",
        highlight=False,
    )
    run_example(console)


@app.command()
def example(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (results/example).")
    ] = None,
) -> None:
    """Survival statistics on a bundled real trial (R's veteran data), with its report."""
    run_example(console, out)


@app.command()
def report(
    folder: Annotated[Path, typer.Argument(help="Results folder of a blinasim job.")],
) -> None:
    """Re-render the HTML report of a results folder from its files (nothing is re-run)."""
    path = write_report(folder)
    console.print(f"report: [bold]{escape(str(path))}[/]")


@app.command()
def analyze(
    file: Annotated[
        Path, typer.Argument(help="ADaM ADTTE file: .xpt (SAS v5/v8), .csv or .parquet.")
    ],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="PARAMCD to analyse (repeatable).")
    ] = None,
    milestone_years: Annotated[
        float, typer.Option(help="Time of the milestone estimate, in years.")
    ] = 3.0,
    tau_years: Annotated[
        float | None, typer.Option(help="RMST horizon in years (default: the milestone).")
    ] = None,
    control: Annotated[
        str | None,
        typer.Option(help="Reference arm (default: recognised from the data, else asked for)."),
    ] = None,
    extrapolate: Annotated[
        float | None,
        typer.Option(
            help="Horizon in years of the parametric extrapolation (default: twice the milestone)."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder.")] = None,
) -> None:
    """Analyse real or simulated trial data (ADaM ADTTE): KM, log-rank, Cox, RMST, CIF."""
    run = analyze_file(
        file,
        out_dir=out,
        params=param,
        milestone_years=milestone_years,
        tau_years=tau_years,
        control=control,
        extrapolate_years=extrapolate,
    )
    print_run(console, run)
    assert run.out_dir is not None
    console.print(f"\nreport: [bold]{escape(str(run.out_dir / 'report.html'))}[/]")
    console.print(f"[dim]{escape(run.statement)}[/]", soft_wrap=True)


app.command()(reconstruct)
app.command()(cea)
app.command()(serve)
app.command()(predict)


@app.command("run")
def run_cmd(
    trial: Annotated[str, typer.Argument(help="Trial to replicate (aall1731).")] = "aall1731",
    replicates: Annotated[
        int, typer.Option("--replicates", "-r", help="Simulated trials (one parameter draw each).")
    ] = 20,
    seed: Annotated[int, typer.Option(help="Root random seed.")] = 20241207,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder.")] = None,
    protocol: Annotated[
        str | None, typer.Option(help="Protocol file (or shipped name) replacing aall1731.")
    ] = None,
    posterior: Annotated[
        str,
        typer.Option(
            help="Parameters: 'shipped' (one draw of the shipped posterior per replicate), "
            "a posterior CSV from 'blinasim calibrate', or 'none' (the point values of "
            "parameters.yaml)."
        ),
    ] = "shipped",
    params: Annotated[
        Path | None,
        typer.Option(
            "--params",
            help="Parameter file over the shipped parameters.yaml (check it with "
            "'blinasim params validate FILE'); posterior draws still replace their parameters.",
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes.")] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (tcp://host:port).")
    ] = None,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh", help="Discard the checkpoints and results of an earlier run in --out."
        ),
    ] = False,
) -> None:
    """Simulate the trial with the calibrated model, analyse it, write results and a report.

    Interrupted, the same command resumes from the finished trials, with the same numbers.
    """
    if trial in RELAPSE_TRIALS:  # aall1331, 20120215: the salvage pathway predicts them
        rr = run_relapse_trial(
            trial,
            replicates=replicates,
            seed=seed,
            out=out,
            params=None if params is None else str(params),
            protocol=protocol,
        )
        for line in summary_lines(rr):
            console.print(escape(line), highlight=False, soft_wrap=True)
        return

    cfg = RunConfig(
        trial=trial,
        replicates=replicates,
        seed=seed,
        protocol=protocol,
        posterior=posterior,
        params=None if params is None else str(params),
    )
    with progress_bar(err_console, "simulating trials", replicates) as update:
        result = run(
            cfg,
            out,
            workers=workers,
            scheduler=scheduler,
            progress=update,
            fresh=fresh,
            warn=lambda line: err_console.print(escape(line), highlight=False, soft_wrap=True),
        )
    print_summary(console, result)


@app.command()
def compare(
    base: Annotated[str, typer.Argument(help="Base protocol (shipped name or file).")] = "aall1731",
    protocol: Annotated[
        list[str] | None,
        typer.Option("--protocol", "-p", help="Variant protocol file (repeatable)."),
    ] = None,
    n: Annotated[int, typer.Option("--n", help="Virtual children.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Root random seed.")] = 1,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder.")] = None,
) -> None:
    """Run the same virtual children through protocol variants (common random numbers)."""
    from rich.table import Table

    cmp, report = run_comparison([base, *(protocol or [])], n=n, seed=seed, out=out)
    t = Table(title=f"{n:,} virtual children, seed {seed}", title_justify="left")
    for c in ("stratum", "arm", "n", "3-y DFS", "5-y DFS", "relapse", "vs reference (3-y)"):
        t.add_column(c, justify="left" if c in ("stratum", "arm") else "right", overflow="fold")
    for r in cmp.table.to_dict(orient="records"):
        diff = r.get("paired_difference_3y")
        t.add_row(
            str(r["stratum"]),
            str(r["arm"]),
            f"{r['n']:,}",
            f"{r['dfs_3y']:.1%}",
            f"{r['dfs_5y']:.1%}",
            f"{r['relapse']:.1%}",
            ""
            if diff is None or diff != diff
            else f"{diff:+.1%} ± {r['paired_difference_3y_se']:.1%}",
        )
    console.print(t)
    console.print(f"report: [bold]{escape(str(report))}[/]")
    console.print(f"[dim]{DISCLAIMER}[/]")


def _register() -> None:
    """Attach the command groups that live beside their subpackages."""
    for name, sub in _commands.groups():
        app.add_typer(sub, name=name)


def _end_interrupted(code: int, argv: list[str] | None) -> NoReturn:
    """Exit after an interruption, at once when this process is the ``blinasim`` command.

    The job has saved what it finished and stopped its workers; skipping the interpreter's
    exit handlers means no thread of a stopped process pool can hold the exit (a Ctrl-C'd
    run once printed its line and hung at exit). Called in-process (``main(argv)``, the
    tests), it raises ``SystemExit`` as usual.
    """
    if argv is None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``blinasim`` script."""
    handle_sigterm()
    try:
        _register()
        app(args=argv)
    except BlinasimError as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(2)
    except Interrupted as exc:  # a long job said what it saved and how to resume
        err_console.print(escape(exc.message), highlight=False, soft_wrap=True)
        _end_interrupted(exc.exit_code, argv)
    except KeyboardInterrupt:  # outside a long job: nothing to save
        err_console.print("interrupted: nothing was saved", highlight=False)
        sys.exit(130)
    except Terminated:
        err_console.print("terminated: nothing was saved", highlight=False)
        sys.exit(143)

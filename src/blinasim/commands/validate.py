"""``blinasim validate``: every published target beside the posterior prediction, by role.

``blinasim validate [--posterior FILE|DIR] [--draws K] [--n N] [--seed S] [--workers K]
[--quick] [--json] [--out DIR]`` simulates the posterior draws with the calibration's
simulator and prints, for every target of ``data/targets/``, its role, the published value
with its interval, the posterior predictive value with its 95% interval and whether the
published value is inside; then the counts per role. Only held-out targets are validation.
``--json`` prints the machine-readable document instead; ``--out DIR`` writes
``validate.json`` and ``report.html`` and checkpoints the simulations (the same command
resumes after an interruption).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from blinasim.disclaimer import DISCLAIMER
from blinasim.interrupt import resumable
from blinasim.io.checkpoint import json_ready
from blinasim.jobs import validate as job

app = typer.Typer(
    help="Every published target beside the model's posterior prediction, by role "
    "(only held-out targets are validation).\n\n" + DISCLAIMER,
    no_args_is_help=False,
    invoke_without_command=True,
)
console = Console()
err_console = Console(stderr=True)


def _fmt(v: float | None) -> str:
    return "–" if v is None or v != v else f"{v:.4g}"


def _iv(v: job.Interval | None) -> str:
    if v is None:
        return "not simulated"
    return f"{_fmt(v.estimate)} [{_fmt(v.lower)}, {_fmt(v.upper)}]"


def print_table(con: Console, result: job.ValidationResult) -> None:
    """The validation table, then the counts per role."""
    tab = Table(
        title=f"Targets vs posterior predictions ({result.posterior}, "
        f"{result.settings['draws']} draws x {result.settings['children_per_draw']:,} children)",
        title_justify="left",
    )
    for c in ("target", "role", "published [95%]", "predicted [95% predictive]", "inside"):
        tab.add_column(c, overflow="fold")
    order = {"held_out": 0, "fitted": 1, "derived": 2, "closed_form": 3, "input": 4}
    for r in sorted(result.rows, key=lambda r: order.get(r.role, 9)):
        inside = "–" if r.inside is None else ("yes" if r.inside else "[red]NO[/]")
        pred = _iv(r.predicted)
        if r.predicted is None and r.id in job.WHATIF_TARGETS:
            pred = "a what-if pair (below)"
        tab.add_row(r.id, job.ROLE_WORDS.get(r.role, r.role), _iv(r.published), pred, inside)
    con.print(tab)
    if result.whatif:
        wt = Table(
            title="What-if backbone comparisons (held out, never fitted)", title_justify="left"
        )
        for c in ("comparison", "published effect [95% CI]", "predicted [95%]", "hit"):
            wt.add_column(c, overflow="fold")
        for w in result.whatif:
            p, q = w["published"], w["predicted"]
            wt.add_row(
                str(w["description"]),
                _iv(job.Interval(p["estimate"], p["lower"], p["upper"])),
                _iv(job.Interval(q["estimate"], q["lower"], q["upper"])),
                "yes" if w["hit"] else "[red]NO[/]",
            )
        con.print(wt)
    for line in job.summary_lines(result.summary):
        con.print(escape(line), highlight=False)
    if result.whatif:
        con.print(escape(job.whatif_line(result.whatif)), highlight=False)
    con.print(job.VALIDATION_NOTE, highlight=False)
    con.print(f"run time {result.timing_s:.1f} s", highlight=False)


@app.callback(invoke_without_command=True)
def validate(
    ctx: typer.Context,
    posterior: Annotated[
        Path | None,
        typer.Option(help="Posterior CSV or folder (default: the shipped ensemble)."),
    ] = None,
    draws: Annotated[
        int | None,
        typer.Option(help="Posterior draws to simulate (default: every draw of the ensemble)."),
    ] = None,
    n: Annotated[
        int | None,
        typer.Option("--n", help="Children per simulated cohort (default: the calibration's)."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of the simulated cohort (default: the calibration's "
            "predictive seed, not the fitted one)."
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", help="Local worker processes.")
    ] = None,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help=f"{job.QUICK_DRAWS} draws x {job.QUICK_PATIENTS:,} children (a rough check).",
        ),
    ] = False,
    whatif: Annotated[
        bool,
        typer.Option(
            "--whatif/--no-whatif",
            help="Also predict the what-if backbone comparisons (a tenth of the draws, "
            f"{job.WHATIF_DRAWS} at most).",
        ),
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the machine-readable document only.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write validate.json and report.html here (and checkpoint the simulations).",
        ),
    ] = None,
) -> None:
    """Compare every published target with the model's posterior prediction."""
    if ctx.invoked_subcommand is not None:
        return
    cfg = job.ValidateConfig(
        posterior=None if posterior is None else str(posterior),
        draws=job.QUICK_DRAWS if quick and draws is None else draws,
        n_patients=job.QUICK_PATIENTS if quick and n is None else n,
        seed=seed,
    )
    prog = job.Progress()

    def warn(line: str) -> None:
        err_console.print(escape(line), highlight=False, soft_wrap=True)

    with (
        resumable(prog.line),
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("simulating posterior draws", total=None)
        result = job.validate(
            cfg,
            workers=workers,
            out_dir=out,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
            warn=warn,
            progress=prog,
            whatif=whatif,
        )
    paths = job.write_outputs(result, out) if out is not None else {}
    if as_json:
        typer.echo(json.dumps(json_ready(result.document()), indent=2, sort_keys=True))
        return
    print_table(console, result)
    if paths:
        console.print(f"report: [bold]{escape(str(paths['html']))}[/]")
    console.print(f"[dim]{DISCLAIMER}[/]")

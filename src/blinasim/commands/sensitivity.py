"""``blinasim calibrate sensitivity``: which fixed parameters move the key outputs.

``blinasim calibrate sensitivity [CONFIG] [--method morris|sobol] [--trajectories R]
[--n N] [--seed S] [--workers K | --scheduler ADDR] [--out DIR]`` runs (or resumes) a global
sensitivity analysis (:mod:`blinasim.calibrate.sensitivity`) of the key outputs to every
parameter with a prior that the calibration config does not fit, and writes the evaluations
(Parquet), the indices (JSON) and a summary (markdown, HTML) into ``--out``
(:mod:`blinasim.reports.sensitivity`). Registered on the ``calibrate`` app by
:mod:`blinasim.commands.calibrate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from blinasim.calibrate.config import load_config
from blinasim.calibrate.sensitivity import (
    CHECKPOINT,
    SensitivityResult,
    Settings,
    check_settings,
    run_sensitivity,
)
from blinasim.calibrate.sensitivity import Progress as Saved
from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError
from blinasim.interrupt import resumable
from blinasim.io.outdir import prepare_out_dir
from blinasim.reports.sensitivity import write_sensitivity

console = Console()
err_console = Console(stderr=True)


def _print(res: SensitivityResult) -> None:
    tab = Table(title="Parameters with a prior, not fitted: do they move the key outputs?")
    for c in ("factor", "verdict", "largest effect / tau", "on"):
        tab.add_column(c)
    order = {"matters": 0, "unclear": 1, "does not matter": 2, "not read": 3}
    fv = res.factor_verdicts.assign(o=res.factor_verdicts["verdict"].map(order))
    for _, r in fv.sort_values(["o", "max_ratio"], ascending=[True, False]).iterrows():
        tab.add_row(
            str(r["factor"]), str(r["verdict"]), f"{r['max_ratio']:.2f}", str(r["driving_output"])
        )
    console.print(tab)


def sensitivity(
    config: Annotated[
        Path | None, typer.Argument(help="Calibration config (default: the shipped one).")
    ] = None,
    method: Annotated[str, typer.Option(help="morris (default) or sobol.")] = "morris",
    trajectories: Annotated[
        int | None,
        typer.Option(
            "--trajectories", "-r", help="Morris trajectories (10) or Sobol base samples (64)."
        ),
    ] = None,
    n: Annotated[
        int | None, typer.Option("--n", help="Children per evaluation (default: the config's).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the design and the bootstrap.")] = 1,
    noise_seeds: Annotated[
        int, typer.Option(help="Other simulation seeds at the base point (Monte Carlo noise).")
    ] = 3,
    include: Annotated[
        list[str] | None,
        typer.Option("--include", help="Also vary this free parameter over its prior."),
    ] = None,
    all_priors: Annotated[
        bool, typer.Option("--all", help="Vary every parameter with a prior, free ones too.")
    ] = False,
    posterior: Annotated[
        str | None,
        typer.Option(
            help="Posterior (CSV, folder or 'shipped') whose means fix the free parameters "
            "(default: the parameter file's values)."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", help="Local worker processes (default: all cores)."),
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address tcp://host:port.")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder (checkpoint and results).")
    ] = Path("results/sensitivity"),
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Start over: delete this folder's checkpoint first.")
    ] = False,
) -> None:
    """Global sensitivity analysis (SALib) of the key outputs to the fixed parameters."""
    if workers is not None and scheduler is not None:
        raise InputError(
            "either --workers or --scheduler, not both", field="--scheduler", got=scheduler
        )
    if workers is not None and workers < 1:
        raise InputError("workers >= 1", field="--workers", got=workers)
    settings = Settings(
        method=method,
        trajectories=trajectories,
        n_patients=n,
        seed=seed,
        noise_seeds=noise_seeds,
        include=tuple(include or ()),
        all_priors=all_priors,
        posterior=posterior,
    )
    check_settings(settings)
    cfg = load_config(config)
    prepare_out_dir(out)
    saved = Saved(out / CHECKPOINT)

    def warn(msg: str) -> None:
        err_console.print(escape(msg), highlight=False, soft_wrap=True)

    with (
        resumable(saved.line),
        Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} evaluations"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as bar,
    ):
        task = bar.add_task(f"sensitivity ({settings.method})", total=None)

        def on_batch(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        res = run_sensitivity(
            cfg,
            out,
            settings,
            workers=workers,
            scheduler=scheduler,
            fresh=fresh,
            on_batch=on_batch,
            warn=warn,
            progress=saved,
        )
    paths = write_sensitivity(res, out)
    _print(res)
    console.print(
        f"{len(res.evaluations)} evaluations, {res.elapsed_s:.0f} s of evaluation wall time"
    )
    console.print(f"summary: [bold]{paths['html']}[/] and {paths['markdown']}")
    console.print(f"[dim]{DISCLAIMER}[/]")


__all__ = ["sensitivity"]

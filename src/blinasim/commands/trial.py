"""``blinasim trial ...``: list designs, show boundaries, run one trial, replicate many.

``blinasim trial replicate`` runs :func:`blinasim.trial.operating.replicate` (the
operating characteristics of a design); the command keeps its name.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from blinasim.analysis.outputs import claim_out_dir, shown_path
from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError
from blinasim.interrupt import resumable
from blinasim.io.outdir import prepare_out_dir
from blinasim.io.results import write_manifest, write_tables
from blinasim.trial import operating
from blinasim.trial.design import TrialDesign, load_design, resolve_design_path, shipped_designs
from blinasim.trial.looks import BoundaryCache
from blinasim.trial.monitoring import z_to_hazard_ratio
from blinasim.trial.run import run_trial

app = typer.Typer(
    help="Randomized trials: designs as data, group-sequential monitoring, one simulated "
    "trial or many (operating characteristics).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()

DesignArg = Annotated[
    str, typer.Argument(help="A design YAML file or a shipped design name (see `list`).")
]


def _disclaimer() -> None:
    console.print(f"[dim]{DISCLAIMER}[/]")


def _fmt(x: float, digits: int = 4) -> str:
    return (
        "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}g}"
    )


@app.command("list")
def list_designs() -> None:
    """List the shipped trial designs."""
    table = Table(title="Shipped trial designs")
    for col in ("name", "outcomes", "looks", "title"):
        table.add_column(col, overflow="fold")
    for name in shipped_designs():
        d = load_design(name)
        looks = ", ".join(a.name for a in d.analyses)
        table.add_row(name, d.outcomes.source, looks, d.title)
    console.print(table)


@app.command()
def boundaries(design: DesignArg) -> None:
    """Show the planned group-sequential boundaries of a design."""
    d = load_design(design)
    gs = BoundaryCache(d).planned_design
    planned = d.planned_events()
    m = d.monitoring
    table = Table(
        title=f"{d.name}: {m.spending}, alpha {m.alpha:g} ({m.sided}-sided)"
        + (", non-binding futility" if m.futility and not m.futility.binding else "")
    )
    for col in ("look", "events", "information", "z bound", "nominal p", "alpha spent", "HR bound"):
        table.add_column(col, justify="right")
    for k, a in enumerate(d.analyses):
        ev = planned[k] if planned is not None else None
        hr = float(z_to_hazard_ratio(gs.critical_values[k], ev)) if ev else float("nan")
        table.add_row(
            a.name,
            str(ev) if ev else str(a.date),
            f"{gs.information_rates[k]:.3f}",
            f"{gs.critical_values[k]:.4f}",
            f"{gs.stage_levels[k]:.5f}",
            f"{gs.alpha_spent[k]:.5f}",
            _fmt(hr),
        )
    console.print(table)
    if m.assumption:
        console.print(f"[dim]assumption: {' '.join(m.assumption.split())}[/]")


def _out_dir(out: Path | None, design: TrialDesign, kind: str, seed: int) -> Path:
    """The output folder, checked before any work.

    One line for a file, /dev/null, a read-only folder or another run's results; the
    default is fixed per design and seed so that the same command again resumes.
    """
    folder = out if out is not None else Path("results") / f"{design.name}-{kind}-seed{seed}"
    return claim_out_dir(
        folder,
        kind=f"trial.{kind}",
        match={"seed": seed, "design_hash": design.design_hash()},
        refuse_unmarked=kind == "run",
    )


def _check_options(
    *,
    seed: int,
    n: int | None = None,
    block_size: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> None:
    """One line for an option that cannot work, before any file is touched."""
    if seed < 0:
        raise InputError("a non-negative integer seed", field="--seed", got=seed)
    if n is not None and n < 1:
        raise InputError("at least 1 simulated trial", field="--n", got=n)
    if block_size is not None and block_size < 1:
        raise InputError("at least 1 replicate per block", field="--block-size", got=block_size)
    if workers is not None and workers < 1:
        raise InputError("at least 1 worker process", field="--workers", got=workers)
    if workers is not None and scheduler is not None:
        raise InputError("either --workers or --scheduler, not both", field="--scheduler")


@app.command()
def run(
    design: DesignArg,
    seed: Annotated[int, typer.Option(help="Root random seed.")] = 1,
    out: Annotated[Path | None, typer.Option(help="Output folder (Parquet + manifest).")] = None,
) -> None:
    """Simulate one trial: looks, decision, CONSORT counts, estimates, ADaM ADTTE."""
    _check_options(seed=seed)
    path = resolve_design_path(design)
    d = load_design(path)
    folder = _out_dir(out, d, "run", seed)
    t0 = time.perf_counter()
    res = run_trial(d, seed=seed)
    elapsed = time.perf_counter() - t0
    files = write_tables(
        folder,
        {
            "adtte": res.adtte,
            "looks": res.looks_frame(),
            "consort": res.consort.to_frame(),
            "estimates": res.estimates_frame(),
        },
    )
    write_manifest(
        folder,
        kind="trial.run",
        design=d.model_dump(mode="json"),
        design_hash=d.design_hash(),
        seed=seed,
        files=files,
        timings={"run_trial": elapsed},
        extra={"decision": res.decision, "design_file": shown_path(path)},
    )
    looks = Table(title=f"{d.name}, seed {seed}: {res.decision}")
    for col in ("look", "date", "events", "randomized", "z", "bound", "decision"):
        looks.add_column(col, justify="right")
    for lk in res.looks:
        looks.add_row(
            lk.name,
            str(lk.date),
            str(lk.events),
            str(lk.n_randomized),
            f"{lk.z:.3f}",
            f"{lk.critical_value:.3f}",
            lk.decision,
        )
    console.print(looks)
    e = res.estimates
    c = res.consort
    console.print(
        f"enrolled {c.enrolled}; randomized "
        + ", ".join(f"{k} {v}" for k, v in c.randomized.items())
        + f"; crossed over {c.crossed_over}"
    )
    console.print(
        f"data cut {e.data_cut}: {e.milestone_years:g}-year DFS "
        + ", ".join(
            f"{k} {100 * v:.1f}% (SE {100 * e.dfs_milestone_se[k]:.1f})"
            for k, v in e.dfs_milestone.items()
        )
    )
    console.print(
        f"HR {_fmt(e.hazard_ratio, 3)} (95% CI {_fmt(e.hazard_ratio_lower, 3)}-"
        f"{_fmt(e.hazard_ratio_upper, 3)}); stratified log-rank p {_fmt(e.logrank_p, 3)}; "
        f"RMST difference {_fmt(e.rmst_difference_days, 3)} days to {e.rmst_tau_years:g} years"
    )
    console.print(f"wrote {folder}")
    _disclaimer()


@app.command()
def replicate(
    design: DesignArg,
    n: Annotated[int, typer.Option("--n", help="Number of simulated trials.")] = 1000,
    seed: Annotated[int, typer.Option(help="Root random seed.")] = 1,
    workers: Annotated[
        int | None, typer.Option(help="Local worker processes (default: all cores).")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (Parquet + manifest).")] = None,
    checkpoint_dir: Annotated[
        Path | None, typer.Option(help="Resumable checkpoints (default: <out>/checkpoints).")
    ] = None,
    block_size: Annotated[int, typer.Option(help="Replicates per block.")] = 100,
) -> None:
    """Simulate many trials: power / type I error, stopping probabilities, sample size."""
    _check_options(seed=seed, n=n, block_size=block_size, workers=workers, scheduler=scheduler)
    path = resolve_design_path(design)
    d = load_design(path)
    folder = _out_dir(out, d, "replicate", seed)
    ck = checkpoint_dir if checkpoint_dir is not None else folder / "checkpoints"
    prepare_out_dir(ck, field="--checkpoint-dir")
    # a folder of another run: fail before starting
    operating.bind_checkpoint(ck, d, seed, block_size)
    done = [0]

    def progress(n_done: int, _total: int) -> None:
        done[0] = n_done
        bar.update(task, completed=n_done)

    def saved() -> str:
        return (
            f"{done[0]} of {n} simulated trials saved in {ck} (checkpoints of "
            f"{block_size}); run the same command again to resume"
        )

    with (
        resumable(saved),
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ) as bar,
    ):
        task = bar.add_task(f"{d.name}", total=n)
        oc = operating.replicate(
            d,
            n,
            seed=seed,
            workers=workers,
            scheduler=scheduler,
            checkpoint_dir=ck,
            block_size=block_size,
            progress=progress,
        )
    files = write_tables(
        folder,
        {
            "replicates": oc.replicates_frame(),
            "looks": oc.looks_frame(),
            "summary": oc.summary_frame(),
        },
    )
    write_manifest(
        folder,
        kind="trial.replicate",
        design=d.model_dump(mode="json"),
        design_hash=d.design_hash(),
        seed=seed,
        files=files,
        timings={"replicate": oc.elapsed_s},
        extra={
            "n_replicates": n,
            "block_size": block_size,
            "workers": workers,
            "scheduler": scheduler,
            "design_file": shown_path(path),
            "checkpoint_dir": shown_path(ck),
        },
    )
    table = Table(title=f"{d.name}: {n} simulated trials, seed {seed}")
    table.add_column("quantity")
    table.add_column("look")
    table.add_column("value", justify="right")
    summary = oc.summary_frame()
    for q, lk, v in zip(summary["quantity"], summary["look"], summary["value"], strict=True):
        table.add_row(str(q), str(lk), _fmt(float(v), 4))
    console.print(table)
    console.print(
        f"rejection probability {oc.rejection_probability:.4f} "
        f"(Monte Carlo SE {oc.rejection_se:.4f}); {oc.elapsed_s:.1f} s"
    )
    console.print(f"wrote {folder}")
    _disclaimer()


__all__ = ["app"]

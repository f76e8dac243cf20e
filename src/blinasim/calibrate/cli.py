"""``blinasim calibrate``: fit the model to the published targets, with checkpoints.

``blinasim calibrate [--config FILE] [--workers K | --scheduler ADDR] [--out DIR]`` runs
(or resumes) the calibration (stage 1: emcee; stage 2, if the config has an ``importance``
section: importance sampling that reweights it), then writes the posterior ensemble
(CSV + JSON) and the validation report (HTML + JSON) into ``--out``.
``blinasim calibrate show`` summarizes a posterior (default: the shipped one).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from blinasim.disclaimer import DISCLAIMER

app = typer.Typer(
    help="Calibrate the mechanistic model to published AALL1731 results "
    "(emcee, then importance sampling).\n\n" + DISCLAIMER,
    no_args_is_help=False,
    invoke_without_command=True,
)
console = Console()

CURVE_YEARS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0)
N_CURVE_DRAWS = 8
N_FRESH_DRAWS = 24


def _curves(cfg: Any, ens: Any, pool: Any) -> pd.DataFrame:
    from blinasim.calibrate.simulator import dfs_curve_task

    k = min(N_CURVE_DRAWS, len(ens))
    tasks = [(cfg, ens.values(i), CURVE_YEARS) for i in range(k)]
    frames = pool.map(dfs_curve_task, tasks)
    df = pd.concat(frames, ignore_index=True)
    g = df.groupby(["stratum", "arm", "years"], sort=False)["dfs"]
    out = g.agg(
        mean="mean",
        q025=lambda x: float(np.quantile(x, 0.025)),
        q975=lambda x: float(np.quantile(x, 0.975)),
    ).reset_index()
    out["members"] = k
    result: pd.DataFrame = out
    return result


def run_calibration(
    config_path: Path | None,
    out_dir: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    checks: bool = True,
    con: Console | None = None,
) -> dict[str, Path]:
    """Run or resume a calibration and write its outputs; returns the written paths."""
    from blinasim.calibrate.config import load_config
    from blinasim.calibrate.importance import CHECKPOINT_IS, run_importance
    from blinasim.calibrate.report import build_result, fresh_seed_check, write_outputs
    from blinasim.calibrate.sampler import CHECKPOINT, make_pool, run_sampler
    from blinasim.calibrate.simulator import LogPosterior

    con = con or console
    t0 = time.perf_counter()
    cfg = load_config(config_path)
    targets = cfg.load_targets().targets
    out_dir.mkdir(parents=True, exist_ok=True)
    if fresh:
        (out_dir / CHECKPOINT).unlink(missing_ok=True)
        (out_dir / CHECKPOINT_IS).unlink(missing_ok=True)
    spec = cfg.importance
    stage2 = f", then {spec.draws} importance draws" if spec is not None else ""
    con.print(
        f"calibration [bold]{cfg.name} v{cfg.version}[/]: {len(cfg.free_parameters)} free "
        f"parameters, {len(cfg.fit)} targets fitted, {len(cfg.hold_out)} held out, "
        f"{cfg.sampler.walkers} walkers x {cfg.sampler.steps} steps{stage2}, "
        f"{cfg.simulation.n_patients:,} patients per evaluation"
    )
    # one pool for both stages and the checks: workers start (and set up the model) once
    pool = make_pool(workers, scheduler)
    try:
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} {task.fields[unit]}"),
            TextColumn("{task.fields[what]} {task.fields[best]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=con,
            transient=False,
        ) as bar:
            stage1 = "stage 1: emcee" if spec is not None else "sampling"
            task = bar.add_task(
                stage1, total=cfg.sampler.steps, best="-", unit="steps", what="log post. max"
            )

            def on_step(done: int, total: int, ch: Any) -> None:
                best = float(np.max(ch.log_prob[-1]))
                bar.update(task, completed=done, best=f"{best:.2f}" if math.isfinite(best) else "-")

            chain = run_sampler(cfg, out_dir, on_step=on_step, resume=True, pool=pool)
            t_stage1 = time.perf_counter() - t0
            run2 = None
            if spec is not None:
                task2 = bar.add_task(
                    "stage 2: importance", total=spec.draws, best="-", unit="draws", what="ESS"
                )

                def on_batch(done: int, total: int, run: Any) -> None:
                    from blinasim.calibrate.importance import psis

                    ess = psis(run.log_weights).ess if run.draws > 0 else math.nan
                    bar.update(
                        task2, completed=done, best=f"{ess:.0f}" if math.isfinite(ess) else "-"
                    )

                run2 = run_importance(cfg, chain, out_dir, on_batch=on_batch, pool=pool)
        t_sampler = time.perf_counter() - t0
        result = build_result(cfg, chain, targets, run2)
        curves = None
        if checks:
            n = min(N_FRESH_DRAWS, len(result.ensemble))
            fresh_cfg = cfg.model_copy(update={"seed": cfg.predictive_seed})
            post = LogPosterior(fresh_cfg)
            thetas = [
                result.ensemble.draws.loc[i, list(result.ensemble.keys)].to_numpy(dtype=float)
                for i in range(n)
            ]
            res = pool.map(post, thetas)
            vals = np.stack([r[1][: len(targets)] for r in res])
            fs = fresh_seed_check(result, targets, vals, list(range(n)))
            result = type(result)(
                config=result.config,
                ensemble=result.ensemble,
                predictions=result.predictions,
                diagnostics=result.diagnostics,
                model_values=result.model_values,
                fresh_seed=fs,
                importance=result.importance,
                stage_comparison=result.stage_comparison,
            )
            if cfg.simulation.simulator.endswith(":ModelSimulator"):
                curves = _curves(cfg, result.ensemble, pool)
    finally:
        pool.close()
    timing = {
        "sampler (this invocation)": t_sampler,
        "sampler (all invocations)": chain.elapsed_s,
        "total (this invocation)": time.perf_counter() - t0,
    }
    if run2 is not None:
        timing = {
            "stage 1 emcee (this invocation)": t_stage1,
            "stage 2 importance (this invocation)": t_sampler - t_stage1,
            "stage 1 emcee (all invocations)": chain.elapsed_s,
            "stage 2 importance (all invocations)": run2.elapsed_s,
            "total (this invocation)": time.perf_counter() - t0,
        }
    paths = write_outputs(result, out_dir, curves=curves, timing=timing)
    _print_summary(con, result)
    con.print(f"\nreport: [bold]{paths['html'].resolve()}[/]")
    con.print(f"posterior: {paths['posterior'].resolve()}")
    con.print(f"[dim]{DISCLAIMER}[/]")
    return paths


def _print_summary(con: Console, result: Any) -> None:
    tab = Table(title="Targets: published vs posterior predictive", show_lines=False)
    for c in ("target", "used", "published", "predicted", "95% predictive", "ok"):
        tab.add_column(c)
    for _, r in result.predictions.iterrows():
        tab.add_row(
            r["target"],
            r["used"],
            f"{r['published']:.4g}",
            f"{r['predicted_mean']:.4g}",
            f"[{r['ppi_q025']:.4g}, {r['ppi_q975']:.4g}]",
            "yes" if r["inside_ppi"] else "[red]NO[/]",
        )
    con.print(tab)
    d = result.diagnostics
    isd = result.importance
    label = "stage 1 (emcee): " if isd is not None else ""
    con.print(
        f"{label}acceptance {d.acceptance_fraction:.2f}, effective samples "
        f"~{d.effective_samples:.0f}, evaluations {d.n_evals}, time {d.elapsed_s / 60:.1f} min"
    )
    if isd is not None:
        con.print(
            f"stage 2 (importance): {isd.draws} draws, PSIS k-hat {isd.pareto_k:.2f}, "
            f"ESS {isd.ess:.0f} (required {isd.ess_required}), "
            f"time {isd.elapsed_s / 60:.1f} min"
        )
    for w in result.convergence_warnings():
        con.print(f"[yellow]warning:[/] not converged: {w}")
    if isd is not None and not result.convergence_warnings():
        con.print(f"converged: PSIS k-hat < {isd.khat_threshold:.3f} and ESS >= ensemble size")


@app.callback(invoke_without_command=True)
def calibrate(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Calibration config (default: shipped).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", help="Local worker processes (default: all cores)."),
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address tcp://host:port.")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder (checkpoint, posterior, report).")
    ] = Path("results/calibration"),
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Ignore an existing checkpoint and start over.")
    ] = False,
    checks: Annotated[
        bool, typer.Option("--checks/--no-checks", help="Fresh-seed check and DFS curves.")
    ] = True,
) -> None:
    """Run (or resume) the calibration; writes the posterior ensemble and a report."""
    if ctx.invoked_subcommand is not None:
        return
    if workers is not None and scheduler is not None:
        from blinasim.errors import InputError

        raise InputError(
            "either --workers or --scheduler, not both", field="--scheduler", got=scheduler
        )
    run_calibration(config, out, workers=workers, scheduler=scheduler, fresh=fresh, checks=checks)


@app.command()
def show(
    path: Annotated[
        Path | None, typer.Argument(help="Posterior CSV or folder (default: the shipped one).")
    ] = None,
) -> None:
    """Summarize a posterior ensemble."""
    from blinasim.calibrate.ensemble import load_posterior

    ens = load_posterior(path)
    tab = Table(title=f"posterior {ens.name} ({len(ens)} draws)")
    for c in ("parameter", "mean", "sd", "2.5%", "median", "97.5%"):
        tab.add_column(c)
    for _, r in ens.summary().iterrows():
        tab.add_row(
            r["parameter"], *(f"{r[k]:.4g}" for k in ("mean", "sd", "q025", "median", "q975"))
        )
    console.print(tab)
    diag = ens.meta.get("diagnostics", {})
    head = (
        f"config sha256 {str(ens.meta.get('config_sha256', ''))[:12]}, created "
        f"{ens.meta.get('created_utc', '?')}"
    )
    if "importance" in diag:
        imp = diag["importance"]
        verdict = "converged" if diag.get("converged") else "[yellow]NOT converged[/]"
        console.print(
            f"{head}; emcee then importance sampling: {imp.get('draws')} draws, PSIS k-hat "
            f"{float(imp.get('pareto_k', float('nan'))):.2f}, ESS "
            f"{float(imp.get('ess', float('nan'))):.0f}, {verdict}"
        )
    else:
        acc = float(diag.get("acceptance_fraction", float("nan")))
        console.print(f"{head}, emcee, acceptance {acc:.2f}")
    console.print(f"[dim]{DISCLAIMER}[/]")


@app.command()
def check(
    path: Annotated[
        Path | None, typer.Argument(help="Posterior CSV or folder (default: the shipped one).")
    ] = None,
    draws: Annotated[int, typer.Option(help="Draws to re-evaluate.")] = 3,
) -> None:
    """Re-evaluate a few posterior draws with the current model (is the posterior current?).

    The log posterior of a draw is a deterministic function of the model, the config and
    the targets (common random numbers); if it differs from the stored value, the model has
    changed since the fit and the posterior should be refitted.
    """
    from blinasim.calibrate.config import CalibrationConfig
    from blinasim.calibrate.ensemble import load_posterior
    from blinasim.calibrate.simulator import LogPosterior

    ens = load_posterior(path)
    cfg = CalibrationConfig.model_validate(ens.meta["config"])
    post = LogPosterior(cfg)
    worst = 0.0
    for i in range(min(draws, len(ens))):
        theta = np.array([ens.values(i)[k] for k in ens.keys])
        lp, _ = post(theta)
        stored = float(ens.draws["log_posterior"].to_numpy(dtype=float)[i])
        worst = max(worst, abs(lp - stored))
        console.print(f"draw {i}: stored {stored:.6f}, now {lp:.6f}")
    if worst > 1e-6:
        console.print(
            f"[yellow]the model or targets changed since the fit[/] (max |difference| "
            f"{worst:.3g}): refit with 'blinasim calibrate'"
        )
        raise typer.Exit(1)
    console.print("posterior is current: identical log posteriors")

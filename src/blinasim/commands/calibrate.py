"""``blinasim calibrate``: fit the model to the published targets, with checkpoints.

``blinasim calibrate [--config FILE] [--workers K | --scheduler ADDR] [--out DIR]`` runs
(or resumes) the calibration (stage 1: emcee; stage 2, if the config has an ``importance``
section: importance sampling that reweights it), then writes the posterior ensemble
(CSV + JSON, named ``posterior_<name>_v<version>_user-<run id>``, never the shipped
posterior's name) and the validation report (HTML + JSON) into ``--out``.
``blinasim calibrate show`` summarizes a posterior (default: the shipped one).

Checkpoints (``checkpoint_stage1.npz``, ``checkpoint_stage2.npz``) are plain ``.npz``
archives, never pickles. One that is truncated or corrupt is reported in one line and its
stage starts again; one of another config or model inputs is a one-line error (``--fresh``
starts over, ``--fresh-stage2`` redoes stage 2 only). A folder holding another run's results
is refused (``calibration_run.json`` says which run a folder holds). Ctrl-C or SIGTERM
prints one line saying what is saved and exits with 130 / 143.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from blinasim.calibrate.checkpoints import identity_difference, input_hashes
from blinasim.calibrate.config import CalibrationConfig, load_config
from blinasim.calibrate.ensemble import load_posterior
from blinasim.calibrate.importance import CHECKPOINT_IS, LEGACY_CHECKPOINT_IS, psis, run_importance
from blinasim.calibrate.report import build_result, fresh_seed_check, write_outputs
from blinasim.calibrate.sampler import CHECKPOINT, LEGACY_CHECKPOINT, make_pool, run_sampler
from blinasim.calibrate.simulator import LogPosterior, dfs_curve_task
from blinasim.calibrate.targets import role_label
from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError
from blinasim.interrupt import resumable
from blinasim.io.checkpoint import atomic_write_json, read_json
from blinasim.io.outdir import prepare_out_dir
from blinasim.reports.render import write_report

app = typer.Typer(
    help="Calibrate the mechanistic model to published AALL1731 results "
    "(emcee, then importance sampling).\n\n" + DISCLAIMER,
    no_args_is_help=False,
    invoke_without_command=True,
)
console = Console()
err_console = Console(stderr=True)

CURVE_YEARS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0)
N_CURVE_DRAWS = 8
N_FRESH_DRAWS = 24


def _curves(cfg: Any, ens: Any, pool: Any) -> pd.DataFrame:

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


RUN_FILE = "calibration_run.json"
"""Which run an output folder holds (its id, config digest and model inputs)."""
USER_SUFFIX = "_user-"


def run_id(cfg: Any) -> str:
    """Id of a calibration run: hash of its stage-1 config digest and model inputs.

    Steps, draws and what is done after sampling are left out (as in the checkpoint keys),
    so extending a run keeps its id, its folder and its file names.
    """
    import hashlib
    import json

    doc = {"config": cfg.chain_digest(), "inputs": input_hashes(cfg.targets_file)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:10]


def user_posterior_stem(cfg: Any, rid: str) -> str:
    """``posterior_<name>_v<version>_user-<run id>``: never the shipped posterior's name."""
    return f"posterior_{cfg.name}_v{cfg.version}{USER_SUFFIX}{rid}"


@dataclass
class SavedState:
    """What a calibration has checkpointed so far (the line printed on an interruption)."""

    out: Path
    stage: int = 0
    done: int = 0
    total: int = 0
    stage2_total: int | None = None

    def line(self) -> str:
        """One line: what is saved where, and how to resume."""
        again = "run the same command again to resume"
        if self.stage == 0:
            return "nothing saved yet (stage 1 had not checkpointed); run the same command again"
        if self.stage == 1:
            return (
                f"stage 1 at step {self.done} of {self.total} saved in "
                f"{self.out / CHECKPOINT}; {again}"
            )
        if self.stage == 2:
            return (
                f"stage 1 complete, stage 2 at draw {self.done} of {self.total} saved in "
                f"{self.out / CHECKPOINT_IS}; {again}"
            )
        return (
            f"both stages complete and saved in {self.out}; run the same command again to "
            "write the posterior and report"
        )


def _check_folder(out_dir: Path, cfg: Any, rid: str, fresh: bool, con: Console) -> None:
    """Refuse a folder holding another run's results; ``fresh`` clears this folder's run."""
    marker = out_dir / RUN_FILE
    if fresh:
        names = [CHECKPOINT, CHECKPOINT_IS, LEGACY_CHECKPOINT, LEGACY_CHECKPOINT_IS, RUN_FILE]
        names += ["report.json", "report.html"]
        for name in names:
            (out_dir / name).unlink(missing_ok=True)
        for old in out_dir.glob(f"posterior_*{USER_SUFFIX}*"):
            if old.suffix in (".csv", ".json"):
                old.unlink()
        return
    if marker.exists():
        try:
            doc = read_json(marker)
            saved_id = str(doc["run_id"])
            saved_digest = doc.get("config_sha256")
            saved = {"config": doc.get("chain_digest"), "inputs": doc.get("inputs")}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            saved_id, saved_digest, saved = "unreadable", None, {}
        if saved_id != rid:
            now = {"config": cfg.chain_digest(), "inputs": input_hashes(cfg.targets_file)}
            why = identity_difference(saved, now) or "another config or model inputs"
            raise InputError(
                f"an output folder of this calibration (it holds another run: {why}); use "
                "another --out, or --fresh to replace it",
                file=out_dir,
                field="--out",
                got=saved_id,
            )
        if saved_digest is not None and saved_digest != cfg.digest():
            con.print(
                "note: this run's results will be replaced by those of its updated settings "
                "(steps, draws or summaries); its checkpoints are reused",
                soft_wrap=True,
            )
        return
    report = out_dir / "report.json"
    if report.exists():  # results of a version without the marker
        try:
            old_digest = read_json(report).get("posterior", {}).get("config_sha256")
        except (OSError, ValueError, AttributeError):
            old_digest = None
        if old_digest != cfg.digest():
            raise InputError(
                "an output folder of this calibration (it holds another run's report); use "
                "another --out, or --fresh to replace it",
                file=out_dir,
                field="--out",
                got=str(old_digest)[:12],
            )


def run_calibration(
    config_path: Path | None,
    out_dir: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    fresh_stage2: bool = False,
    checks: bool = True,
    con: Console | None = None,
    saved: SavedState | None = None,
    warn: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Run or resume a calibration and write its outputs; returns the written paths.

    ``fresh`` starts over (this folder's checkpoints and results are deleted),
    ``fresh_stage2`` redoes stage 2 only. ``saved`` is kept up to date with what is
    checkpointed (for the line printed on an interruption); ``warn`` gets one-line warnings
    (an unusable checkpoint).
    """
    con = con or console
    saved = saved if saved is not None else SavedState(out_dir)
    t0 = time.perf_counter()
    prepare_out_dir(out_dir)
    cfg = load_config(config_path)
    targets = cfg.load_targets().targets
    rid = run_id(cfg)
    _check_folder(out_dir, cfg, rid, fresh, con)
    if fresh_stage2:
        (out_dir / CHECKPOINT_IS).unlink(missing_ok=True)
    atomic_write_json(
        out_dir / RUN_FILE,
        {
            "run_id": rid,
            "chain_digest": cfg.chain_digest(),
            "inputs": input_hashes(cfg.targets_file),
            "name": cfg.name,
            "version": cfg.version,
            "config_sha256": cfg.digest(),
            "posterior": user_posterior_stem(cfg, rid) + ".csv",
        },
    )
    spec = cfg.importance
    stage2 = f", then {spec.draws} importance draws" if spec is not None else ""
    con.print(
        f"calibration [bold]{cfg.name} v{cfg.version}[/] (run {rid}): "
        f"{len(cfg.free_parameters)} free "
        f"parameters, {len(cfg.fit)} targets fitted, {len(cfg.hold_out)} compared, "
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
                saved.stage, saved.done, saved.total = 1, ch.steps, total
                best = float(np.max(ch.log_prob[-1]))
                bar.update(task, completed=done, best=f"{best:.2f}" if math.isfinite(best) else "-")

            chain = run_sampler(cfg, out_dir, on_step=on_step, resume=True, pool=pool, warn=warn)
            t_stage1 = time.perf_counter() - t0
            run2 = None
            if spec is not None:
                task2 = bar.add_task(
                    "stage 2: importance", total=spec.draws, best="-", unit="draws", what="ESS"
                )

                def on_batch(done: int, total: int, run: Any) -> None:

                    saved.stage, saved.done, saved.total = 2, min(run.draws, total), total
                    ess = psis(run.log_weights).ess if run.draws > 0 else math.nan
                    bar.update(
                        task2, completed=done, best=f"{ess:.0f}" if math.isfinite(ess) else "-"
                    )

                run2 = run_importance(cfg, chain, out_dir, on_batch=on_batch, pool=pool, warn=warn)
        saved.stage = 3
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
    except BaseException:
        pool.abort()  # Ctrl-C, SIGTERM or an error: do not wait for running evaluations
        raise
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
    paths = write_outputs(
        result,
        out_dir,
        curves=curves,
        timing=timing,
        posterior_stem=user_posterior_stem(cfg, rid),
    )
    paths["html"] = write_report(out_dir)  # from the folder, as `blinasim report DIR` does
    _print_summary(con, result)
    con.print(f"\nreport: [bold]{paths['html']}[/]")
    con.print(f"posterior: {paths['posterior']}")
    con.print(f"[dim]{DISCLAIMER}[/]")
    return paths


def _print_summary(con: Console, result: Any) -> None:
    tab = Table(title="Targets: published vs posterior predictive", show_lines=False)
    for c in ("target", "role", "published", "predicted", "95% predictive", "ok"):
        tab.add_column(c)
    for _, r in result.predictions.iterrows():
        tab.add_row(
            r["target"],
            role_label(str(r["role"])),
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
        bool,
        typer.Option(
            "--fresh", help="Start over: delete this folder's checkpoints and results first."
        ),
    ] = False,
    fresh_stage2: Annotated[
        bool,
        typer.Option(
            "--fresh-stage2", help="Redo stage 2 (importance sampling) only; keep stage 1."
        ),
    ] = False,
    checks: Annotated[
        bool, typer.Option("--checks/--no-checks", help="Fresh-seed check and DFS curves.")
    ] = True,
) -> None:
    """Run (or resume) the calibration; writes the posterior ensemble and a report."""
    if ctx.invoked_subcommand is not None:
        return
    if workers is not None and scheduler is not None:
        raise InputError(
            "either --workers or --scheduler, not both", field="--scheduler", got=scheduler
        )

    def warn(msg: str) -> None:
        err_console.print(escape(msg), highlight=False, soft_wrap=True)

    saved = SavedState(out)
    with resumable(saved.line):
        run_calibration(
            config,
            out,
            workers=workers,
            scheduler=scheduler,
            fresh=fresh,
            fresh_stage2=fresh_stage2,
            checks=checks,
            saved=saved,
            warn=warn,
        )


@app.command()
def show(
    path: Annotated[
        Path | None, typer.Argument(help="Posterior CSV or folder (default: the shipped one).")
    ] = None,
) -> None:
    """Summarize a posterior ensemble."""
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
    ens = load_posterior(path)
    doc = dict(ens.meta["config"])
    tf = doc.get("targets_file")
    if tf and not Path(tf).is_absolute():  # written relative to the posterior's folder
        doc["targets_file"] = str(Path(ens.origin).parent / tf)
    cfg = CalibrationConfig.model_validate(doc)
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


# `blinasim calibrate sensitivity` (global sensitivity analysis): defined in its own module
from blinasim.commands.sensitivity import sensitivity  # noqa: E402

app.command("sensitivity")(sensitivity)

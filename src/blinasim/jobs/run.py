"""``blinasim run aall1731``: replicate the trial, analyse it, write results and a report.

Outputs in ``out_dir``: ``summary.json``, ``patients.parquet`` (randomized children of every
replicate), ``adtte.parquet`` (ADaM ADTTE of every replicate, column ``REPLICATE``),
``estimates.parquet`` (one row per replicate), ``looks.parquet``, ``manifest.json`` and
``report.html``. Finished replicates are checkpointed in ``out_dir/checkpoints`` (atomic
writes); the same command after an interruption resumes where it stopped and ends with
the numbers of an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from blinasim._version import __version__
from blinasim.calibrate.ensemble import load_posterior, posterior_file, shipped_dir
from blinasim.calibrate.targets import published_for_run
from blinasim.config import ParameterSet
from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError, OutputError
from blinasim.interrupt import resumable
from blinasim.io.checkpoint import atomic_write_json, write_results_json
from blinasim.io.outdir import claim_job_folder
from blinasim.io.results import write_manifest, write_tables
from blinasim.jobs.simulate import ReplicateOutput, ReplicateTask, design_for, run_replicate
from blinasim.jobs.store import TABLES, ReplicateStore
from blinasim.jobs.summary import (
    ReplicateEstimates,
    Summary,
    estimates_frame,
    replicate_estimates,
    summarize,
)
from blinasim.model.after_relapse.trials import TRIALS as RELAPSE_TRIALS
from blinasim.model.parameters import load_parameter_file, load_parameters
from blinasim.parallel import stream_tasks
from blinasim.protocol import load_protocol
from blinasim.reports.render import write_report
from blinasim.trial.design import MechanisticSource

TRIALS = {"aall1731": "aall1731"}


@dataclass(frozen=True)
class RunConfig:
    """What a run depends on: its numbers are a function of this and nothing else."""

    trial: str = "aall1731"
    replicates: int = 20
    seed: int = 20241207
    protocol: str | None = None
    # "shipped" (default): one draw per replicate from the posterior shipped with the
    # package; the path of a posterior CSV written by `blinasim calibrate`; or None / "none":
    # the point values of parameters.yaml (no parameter uncertainty).
    posterior: str | None = "shipped"
    # a parameter file replacing the shipped parameters.yaml (validated in full; the
    # posterior's draws still replace its free parameters)
    params: str | None = None

    def digest(self) -> str:
        """Hash of the run's inputs by *content* (see :func:`input_identity`)."""
        return input_identity(self)["digest"]


def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def _posterior_path(cfg: RunConfig) -> Path | None:
    if cfg.posterior is None or cfg.posterior.lower() == "none":
        return None
    return posterior_file(None if cfg.posterior == "shipped" else cfg.posterior)


def _parameters(cfg: RunConfig) -> ParameterSet:
    return load_parameters() if cfg.params is None else load_parameter_file(cfg.params)


def input_identity(cfg: RunConfig) -> dict[str, str]:
    """SHA-256 of every input's contents, and of them all together (``digest``).

    The protocol and design are hashed as loaded (a protocol's ``extends`` chain
    included), the parameters as the validated set, the posterior as the bytes of its CSV
    and sidecar: editing any of them, or a new package version, makes another run. The
    number of replicates is not part of it: replicate ``r`` does not depend on how many
    there are, so a run can be extended in the same folder.
    """
    design = design_for(TRIALS.get(cfg.trial, cfg.trial), cfg.protocol)
    source = design.outcomes
    protocol = repr(load_protocol(source.protocol)) if isinstance(source, MechanisticSource) else ""
    parts = {
        "design": _sha(design.model_dump_json()),
        "protocol": _sha(protocol),
        "parameters": _sha(json.dumps(_parameters(cfg).table(), sort_keys=True, default=str)),
        "posterior": "none",
        "seed": str(cfg.seed),
        "version": __version__,
    }
    post = _posterior_path(cfg)
    if post is not None:
        try:
            parts["posterior"] = _sha(post.read_bytes() + post.with_suffix(".json").read_bytes())
        except OSError:
            parts["posterior"] = "unreadable"  # load_posterior reports it in one line
    parts["digest"] = _sha(json.dumps(parts, sort_keys=True))[:16]
    return parts


@dataclass(frozen=True, eq=False)
class RunResult:
    """A finished run: where it was written and what it found."""

    out_dir: Path
    summary: Summary
    estimates: tuple[ReplicateEstimates, ...]
    calibration: str
    timings: dict[str, float]


def _posterior_tasks(cfg: RunConfig) -> tuple[list[ReplicateTask], str]:
    design_name = TRIALS.get(cfg.trial)
    if design_name is None:
        known = ", ".join((*TRIALS, *RELAPSE_TRIALS))
        raise InputError(f"a known trial ({known})", field="trial", got=cfg.trial)
    if cfg.replicates < 1:
        raise InputError("at least 1 replicate", field="--replicates", got=cfg.replicates)
    if cfg.seed < 0:
        raise InputError("a non-negative seed", field="--seed", got=cfg.seed)
    design_for(design_name, cfg.protocol)  # validate the design and protocol up front
    values: list[tuple[tuple[str, float], ...] | None] = [None]
    draws = [0]
    status = (
        "point values of parameters.yaml (published, assumed and calibrated), without "
        "parameter uncertainty (--posterior none)"
    )
    if cfg.posterior is not None and cfg.posterior.lower() != "none":
        path = None if cfg.posterior == "shipped" else cfg.posterior
        if path is None and not any(shipped_dir().glob("posterior_*.csv")):
            raise InputError("a shipped posterior (none in this version)", field="--posterior")
        else:
            ens = load_posterior(path)
            values = [tuple(sorted(ens.values(i).items())) for i in range(len(ens))]
            draws = list(range(len(ens)))
            # the file's name, never an absolute machine path: outputs travel
            where = "shipped with blinasim" if path is None else Path(ens.origin).name
            status = f"calibrated: posterior {ens.name} ({len(ens)} draws, {where})"
    tasks = [
        ReplicateTask(
            design=design_name,
            protocol=cfg.protocol,
            seed=cfg.seed,
            replicate=r,
            values=values[r % len(values)],
            draw=draws[r % len(draws)],
            params_file=cfg.params,
        )
        for r in range(cfg.replicates)
    ]
    if cfg.params is not None:
        _parameters(cfg)  # a bad file is one line before any simulation
        status += f"; parameters from {Path(cfg.params).name} over parameters.yaml"
    return tasks, status


def parameters_frame(tasks: list[ReplicateTask]) -> pd.DataFrame:
    """The parameter values each replicate ran with (one row per replicate).

    Columns ``replicate``, ``draw`` and one per posterior parameter (none without a
    posterior: every replicate then ran the parameter file's point values).
    """
    rows = [{"replicate": t.replicate, "draw": t.draw, **dict(t.values or ())} for t in tasks]
    return pd.DataFrame(rows)


def trials_frame(markers: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per simulated trial: decision, data cut and flattened CONSORT counts."""
    rows = []
    for m in markers:
        row: dict[str, Any] = {
            "replicate": m["replicate"],
            "draw": m["draw"],
            "decision": m["decision"],
            "stopped_early": m["stopped_early"],
            "data_cut": m["data_cut"],
        }
        for k, v in m["consort"].items():
            if isinstance(v, dict):
                row.update({f"{k}.{kk}": vv for kk, vv in v.items()})
            else:
                row[k] = v
        rows.append(row)
    return pd.DataFrame(rows)


def simulate_and_estimate(task: ReplicateTask) -> tuple[ReplicateOutput, ReplicateEstimates]:
    """Run one replicate and its headline analysis (in the worker: module-level, picklable)."""
    out = run_replicate(task)
    return out, replicate_estimates(out)


def default_out_dir(trial: str) -> Path:
    """``results/<trial>-<UTC timestamp>/``."""
    return Path("results") / f"{trial}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


# the files a run writes in its folder (``--fresh`` removes these and nothing else)
OUTPUT_FILES = (
    "parameters.parquet",
    "parameter_table.json",
    "trials.parquet",
    "summary.json",
    "manifest.json",
    "report.html",
    "patients.parquet",
    "adtte.parquet",
    "looks.parquet",
    "estimates.parquet",
)
KIND = "aall1731-replication"


def _claim(out: Path, identity: dict[str, str], *, fresh: bool) -> Path:
    """Bind ``out`` to this run's inputs, or refuse a folder that holds another run."""
    return claim_job_folder(
        out,
        identity,
        kind=KIND,
        command="run",
        noun="run",
        checkpoint_prefixes=("r",),
        outputs=OUTPUT_FILES,
        fresh=fresh,
    )


@contextmanager
def _disk_errors(saved: Callable[[], str]) -> Iterator[None]:
    """A failed write (disk full, folder removed) as one line saying what is saved."""
    try:
        yield
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise OutputError(
            f"could not write the results: {exc.strerror or exc}{where}; {saved()} "
            "once the problem is fixed"
        ) from None


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def run(
    cfg: RunConfig,
    out_dir: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Callable[[int, int], None] | None = None,
    report: bool = True,
    fresh: bool = False,
    warn: Callable[[str], None] = _stderr,
) -> RunResult:
    """Run (or resume) the in-silico replication and write every output.

    Finished replicates are checkpointed as they arrive; interrupted (Ctrl-C, SIGTERM),
    the run raises :class:`blinasim.interrupt.Interrupted` saying what is saved. Memory
    does not grow with ``cfg.replicates``: tables stream from the checkpoints to the
    result files, and the report pools at most ``reports.run.POOL`` replicates.
    """
    t0 = time.perf_counter()
    if workers is not None and workers < 1:  # before any folder is made
        raise InputError("workers >= 1", field="--workers", got=workers)
    tasks, status = _posterior_tasks(cfg)
    identity = input_identity(cfg)
    out = Path(out_dir) if out_dir is not None else default_out_dir(cfg.trial)
    store = ReplicateStore(_claim(out, identity, fresh=fresh), identity["digest"], warn)
    markers: dict[int, dict[str, Any]] = {}
    for t in tasks:
        m = store.load(t.replicate)
        if m is not None:
            markers[t.replicate] = m
    todo = [t for t in tasks if t.replicate not in markers]
    n_total = len(tasks)
    if progress is not None:
        progress(len(markers), n_total)

    def finished(_i: int, res: tuple[ReplicateOutput, ReplicateEstimates]) -> None:
        o, est = res
        markers[o.replicate] = store.save(o, est)
        if progress is not None:
            progress(len(markers), n_total)

    def saved() -> str:
        return (
            f"{len(markers)} of {n_total} simulated trials are saved in {out}; run the same "
            "command again to resume"
        )

    with resumable(saved), _disk_errors(saved):
        stream_tasks(simulate_and_estimate, todo, finished, workers=workers, scheduler=scheduler)
        t_sim = time.perf_counter() - t0
        order = [t.replicate for t in tasks]
        estimates = tuple(markers[r]["estimates"] for r in order)
        meta = {
            "blinasim_version": __version__,
            "config": asdict(cfg),
            "inputs": identity,
            "calibration": status,
            "disclaimer": DISCLAIMER,
        }
        summary = summarize(estimates, published=published_for_run(), meta=meta)
        write_results_json(out / "summary.json", summary)
        files: dict[str, str] = {}
        for name in TABLES:
            store.concat(order, name, out / f"{name}.parquet")
            files[name] = f"{name}.parquet"
        files.update(
            write_tables(
                out,
                {
                    "estimates": estimates_frame(estimates),
                    "parameters": parameters_frame(tasks),
                    "trials": trials_frame([markers[r] for r in order]),
                },
            )
        )
        t_an = time.perf_counter() - t0 - t_sim
        result = RunResult(
            out, summary, estimates, status, {"simulate_s": t_sim, "analyse_s": t_an}
        )
        atomic_write_json(
            out / "parameter_table.json",
            {"origin": Path(cfg.params).name if cfg.params else "parameters.yaml",
             "parameters": _parameters(cfg).table()},
        )  # fmt: skip
        files["parameter_table"] = "parameter_table.json"
        files["summary"] = "summary.json"
        if report:
            files["report"] = "report.html"
        timings = {**result.timings, "total_s": time.perf_counter() - t0}
        write_manifest(
            out,
            kind=KIND,
            design={"trial": cfg.trial, "design": TRIALS[cfg.trial], "protocol": cfg.protocol},
            design_hash=identity["digest"],
            seed=cfg.seed,
            files=files,
            timings=timings,
            extra={
                "config": asdict(cfg),
                "inputs": identity,
                "calibration": status,
                "replicates": cfg.replicates,
                # the design that ran, for the report's captions (spending function, ...)
                "design_spec": design_for(TRIALS[cfg.trial], cfg.protocol).model_dump(mode="json"),
            },
        )
        if report:  # rendered from the folder alone, as `blinasim report DIR` does
            write_report(out)
    return RunResult(out, summary, estimates, status, timings)

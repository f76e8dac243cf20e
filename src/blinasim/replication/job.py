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
import io
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from blinasim._version import __version__
from blinasim.analysis.run import write_json
from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError
from blinasim.io.checkpoint import atomic_write_bytes, atomic_write_json, read_json
from blinasim.io.results import write_manifest, write_tables
from blinasim.parallel import map_tasks
from blinasim.replication.simulate import ReplicateOutput, ReplicateTask, design_for, run_replicate
from blinasim.replication.summary import (
    estimates_frame,
    published_block,
    replicate_estimates,
    summarize,
)

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

    def digest(self) -> str:
        """Hash binding checkpoints to this configuration and package version."""
        doc = json.dumps({**asdict(self), "version": __version__}, sort_keys=True)
        return hashlib.sha256(doc.encode()).hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class RunResult:
    """A finished run: where it was written and what it found."""

    out_dir: Path
    summary: dict[str, Any]
    outputs: tuple[ReplicateOutput, ...]
    estimates: tuple[dict[str, Any], ...]
    calibration: str
    timings: dict[str, float]


def _posterior_tasks(cfg: RunConfig) -> tuple[list[ReplicateTask], str]:
    design_name = TRIALS.get(cfg.trial)
    if design_name is None:
        raise InputError(f"a known trial ({', '.join(TRIALS)})", field="trial", got=cfg.trial)
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
        from blinasim.calibrate.ensemble import load_posterior, shipped_dir

        path = None if cfg.posterior == "shipped" else cfg.posterior
        if path is None and not any(shipped_dir().glob("posterior_*.csv")):
            raise InputError("a shipped posterior (none in this version)", field="--posterior")
        else:
            ens = load_posterior(path)
            values = [tuple(sorted(ens.values(i).items())) for i in range(len(ens))]
            draws = list(range(len(ens)))
            status = f"calibrated: posterior {ens.name} ({len(ens)} draws, {ens.origin})"
    tasks = [
        ReplicateTask(
            design=design_name,
            protocol=cfg.protocol,
            seed=cfg.seed,
            replicate=r,
            values=values[r % len(values)],
            draw=draws[r % len(draws)],
        )
        for r in range(cfg.replicates)
    ]
    return tasks, status


def _save(folder: Path, out: ReplicateOutput) -> None:
    """Write one finished replicate atomically (tables first, the marker last)."""
    for name in ("adtte", "patients", "looks"):
        buf = io.BytesIO()
        getattr(out, name).to_parquet(buf, index=False)
        atomic_write_bytes(folder / f"r{out.replicate:05d}.{name}.parquet", buf.getvalue())
    meta = {
        "replicate": out.replicate,
        "draw": out.draw,
        "consort": out.consort,
        "decision": out.decision,
        "stopped_early": out.stopped_early,
        "data_cut": out.data_cut,
    }
    atomic_write_json(folder / f"r{out.replicate:05d}.done.json", meta)


def _load(folder: Path, r: int) -> ReplicateOutput | None:
    marker = folder / f"r{r:05d}.done.json"
    if not marker.exists():
        return None
    m = read_json(marker)
    t = {
        n: pd.read_parquet(folder / f"r{r:05d}.{n}.parquet") for n in ("adtte", "patients", "looks")
    }
    return ReplicateOutput(
        replicate=int(m["replicate"]),
        draw=int(m["draw"]),
        adtte=t["adtte"],
        patients=t["patients"],
        consort=m["consort"],
        looks=t["looks"],
        decision=str(m["decision"]),
        stopped_early=bool(m["stopped_early"]),
        data_cut=str(m["data_cut"]),
    )


def default_out_dir(trial: str) -> Path:
    """``results/<trial>-<UTC timestamp>/``."""
    return Path("results") / f"{trial}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


def run(
    cfg: RunConfig,
    out_dir: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Callable[[int, int], None] | None = None,
    report: bool = True,
) -> RunResult:
    """Run (or resume) the in-silico replication and write every output."""
    t0 = time.perf_counter()
    tasks, status = _posterior_tasks(cfg)
    out = Path(out_dir) if out_dir is not None else default_out_dir(cfg.trial)
    ckpt = out / "checkpoints"
    ckpt.mkdir(parents=True, exist_ok=True)
    bind = ckpt / "config.json"
    doc = {"config": asdict(cfg), "digest": cfg.digest(), "version": __version__}
    if bind.exists():
        old = read_json(bind)
        if old.get("digest") != doc["digest"]:
            raise InputError(
                "the same configuration as the checkpoints there (use another --out)",
                file=out,
                field="checkpoints",
                got=f"run with {old.get('config')}",
            )
    else:
        atomic_write_json(bind, doc)
    done: dict[int, ReplicateOutput] = {}
    for t in tasks:
        o = _load(ckpt, t.replicate)
        if o is not None:
            done[t.replicate] = o
    todo = [t for t in tasks if t.replicate not in done]
    n_total = len(tasks)
    if progress is not None:
        progress(len(done), n_total)

    def finished(_i: int, o: ReplicateOutput) -> None:
        _save(ckpt, o)
        done[o.replicate] = o
        if progress is not None:
            progress(len(done), n_total)

    map_tasks(run_replicate, todo, workers=workers, scheduler=scheduler, on_result=finished)
    t_sim = time.perf_counter() - t0
    outputs = tuple(done[t.replicate] for t in tasks)
    estimates = tuple(replicate_estimates(o) for o in outputs)
    meta = {
        "blinasim_version": __version__,
        "config": asdict(cfg),
        "calibration": status,
        "disclaimer": DISCLAIMER,
    }
    summary = summarize(estimates, published=published_block(), meta=meta)
    write_json(out / "summary.json", summary)
    files = write_tables(
        out,
        {
            "patients": pd.concat([o.patients for o in outputs], ignore_index=True),
            "adtte": pd.concat([o.adtte for o in outputs], ignore_index=True),
            "looks": pd.concat([o.looks for o in outputs], ignore_index=True),
            "estimates": estimates_frame(estimates),
        },
    )
    t_an = time.perf_counter() - t0 - t_sim
    result = RunResult(
        out, summary, outputs, estimates, status, {"simulate_s": t_sim, "analyse_s": t_an}
    )
    if report:
        from blinasim.replication.report import write_report

        write_report(result)
        files["report"] = "report.html"
    files["summary"] = "summary.json"
    timings = {**result.timings, "total_s": time.perf_counter() - t0}
    write_manifest(
        out,
        kind="aall1731-replication",
        design={"trial": cfg.trial, "design": TRIALS[cfg.trial], "protocol": cfg.protocol},
        design_hash=cfg.digest(),
        seed=cfg.seed,
        files=files,
        timings=timings,
        extra={"config": asdict(cfg), "calibration": status, "replicates": cfg.replicates},
    )
    return RunResult(out, summary, outputs, estimates, status, timings)

"""``blinasim cea aall1731``: lifetime costs and QALYs of frontline blinatumomab, with PSA.

Every PSA iteration ``i`` takes posterior draw ``i mod len(posterior)`` (the model's
parameters), simulates ``n`` virtual children on chemotherapy and on chemotherapy plus
blinatumomab (the same children, common random numbers, model seed from the named stream
``cea.model`` keyed by ``i``: :mod:`blinasim.jobs.cea_sim`), draws the setting's costs and
utilities (stream ``economics.psa`` keyed by ``i``: :func:`blinasim.economics.draw_values`)
and prices both arms (:func:`blinasim.economics.evaluate`). A base case (the parameter
file's point values, the setting's stated values, stream ``cea.base``) gives the one-way
sensitivity analysis and the costs over time. The numbers depend on the configuration
only: never on the worker, the number of workers or Dask.

Outputs in ``out_dir``: ``psa.parquet`` (one row per iteration and arm: costs by category,
life-years, QALYs, vials, discounted and not), ``inputs.parquet`` (each iteration's drawn
costs and utilities), ``base.parquet``, ``tornado.parquet``, ``profile.parquet``,
``summary.json``, ``inputs_table.json`` (the setting's inputs with their sources),
``manifest.json`` and ``report.html``. Iterations are checkpointed in blocks of
:data:`BLOCK` (``out_dir/checkpoints``); the same command after an interruption resumes and
ends with the numbers of an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from blinasim._version import __version__
from blinasim.calibrate.ensemble import load_posterior, posterior_file
from blinasim.disclaimer import DISCLAIMER
from blinasim.economics import ORIGINS, base_values, load_setting, summarize
from blinasim.economics.discount import MODES
from blinasim.errors import InputError
from blinasim.interrupt import resumable
from blinasim.io.checkpoint import atomic_write_json, write_results_json
from blinasim.io.results import write_manifest
from blinasim.jobs.cea_sim import PROTOCOL, STRATEGIES, base_parameters, protocol_for
from blinasim.jobs.cea_store import BlockStore
from blinasim.jobs.cea_tasks import (
    BLOCK,
    CeaTask,
    claim_folder,
    inputs_table,
    run_task,
    tables_for,
)
from blinasim.parallel import stream_tasks
from blinasim.reports.render import write_report

KIND = "cea"
TRIALS = ("aall1731",)
OUTPUT_FILES = (
    "psa.parquet",
    "inputs.parquet",
    "base.parquet",
    "tornado.parquet",
    "profile.parquet",
    "summary.json",
    "inputs_table.json",
    "manifest.json",
    "report.html",
)


@dataclass(frozen=True)
class CeaConfig:
    """What a CEA depends on: its numbers are a function of this and nothing else."""

    trial: str = "aall1731"
    setting: str = "canada-2024"
    psa: int = 500
    n: int = 30_000
    seed: int = 20241207
    origin: str = "diagnosis"
    discounting: str = "continuous"
    # "shipped" (one posterior draw per iteration), a posterior CSV, or "none" (the point
    # values of parameters.yaml in every iteration: costs and utilities still vary)
    posterior: str = "shipped"


def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def check_config(cfg: CeaConfig) -> None:
    """One line for a user mistake, before any folder is made or child simulated."""
    if cfg.trial not in TRIALS:
        raise InputError(f"a known trial ({', '.join(TRIALS)})", field="trial", got=cfg.trial)
    if cfg.psa < 1:
        raise InputError("at least 1 PSA iteration", field="--psa", got=cfg.psa)
    if cfg.n < 1:
        raise InputError("at least 1 child per arm", field="--n", got=cfg.n)
    if cfg.seed < 0:
        raise InputError("a non-negative seed", field="--seed", got=cfg.seed)
    if cfg.origin not in ORIGINS:
        raise InputError(f"one of {', '.join(ORIGINS)}", field="--origin", got=cfg.origin)
    if cfg.discounting not in MODES:
        raise InputError(f"one of {', '.join(MODES)}", field="--discounting", got=cfg.discounting)
    load_setting(cfg.setting)  # a bad setting is one line naming its file and field


def _posterior(cfg: CeaConfig) -> tuple[list[tuple[tuple[str, float], ...] | None], str, str]:
    """Per posterior draw its values, the posterior's label, and a status line."""
    if cfg.posterior.lower() == "none":
        status = "point values of parameters.yaml, without parameter uncertainty"
        return [None], "none", status
    path = None if cfg.posterior == "shipped" else cfg.posterior
    ens = load_posterior(path)
    values: list[tuple[tuple[str, float], ...] | None] = [
        tuple(sorted(ens.values(i).items())) for i in range(len(ens))
    ]
    where = "shipped with blinasim" if path is None else Path(ens.origin).name
    return values, ens.name, f"calibrated: posterior {ens.name} ({len(ens)} draws, {where})"


def input_identity(cfg: CeaConfig) -> dict[str, str]:
    """SHA-256 of every input's contents and of them all (``digest``).

    The number of PSA iterations is not part of it: iteration ``i`` does not depend on how
    many there are, so a CEA can be extended in the same folder.
    """
    setting = load_setting(cfg.setting)
    parts = {
        "setting": _sha(setting.model_dump_json()),
        "protocol": _sha(repr(protocol_for(PROTOCOL))),
        "parameters": _sha(json.dumps(base_parameters().table(), sort_keys=True, default=str)),
        "posterior": "none",
        "options": _sha(
            json.dumps(
                {
                    "n": cfg.n,
                    "seed": cfg.seed,
                    "origin": cfg.origin,
                    "discounting": cfg.discounting,
                    "block": BLOCK,
                },
                sort_keys=True,
            )
        ),
        "version": __version__,
    }
    if cfg.posterior.lower() != "none":
        post = posterior_file(None if cfg.posterior == "shipped" else cfg.posterior)
        try:
            parts["posterior"] = _sha(post.read_bytes() + post.with_suffix(".json").read_bytes())
        except OSError:
            parts["posterior"] = "unreadable"  # load_posterior says so in one line
    parts["digest"] = _sha(json.dumps(parts, sort_keys=True))[:16]
    return parts


def make_tasks(cfg: CeaConfig) -> tuple[list[CeaTask], str]:
    """The base case first (the longest task), then the PSA in blocks of :data:`BLOCK`."""
    values, label, status = _posterior(cfg)
    common = CeaTask(
        kind="base",
        block=0,
        iterations=(),
        draws=(),
        values=(),
        seed=cfg.seed,
        n=cfg.n,
        setting=cfg.setting,
        origin=cfg.origin,
        discounting=cfg.discounting,
        posterior=label,
    )
    tasks = [common]
    for b in range((cfg.psa + BLOCK - 1) // BLOCK):
        its = tuple(range(b * BLOCK, min((b + 1) * BLOCK, cfg.psa)))
        draws = tuple(i % len(values) for i in its)
        vals = tuple(values[d] for d in draws)
        tasks.append(replace(common, kind="psa", block=b, iterations=its, draws=draws, values=vals))
    return tasks, status


@dataclass(frozen=True, eq=False)
class CeaResult:
    """A finished CEA: where it was written, its summary and timings."""

    out_dir: Path
    summary: dict[str, Any]
    timings: dict[str, float]


def default_out_dir(trial: str) -> Path:
    """``results/cea-<trial>-<UTC timestamp>/``."""
    return Path("results") / f"cea-{trial}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


def _summary(cfg: CeaConfig, psa: Any, status: str, identity: dict[str, str]) -> dict[str, Any]:
    setting = load_setting(cfg.setting)
    base = base_values(setting)
    t = setting.threshold
    out = summarize(
        psa,
        comparator=STRATEGIES[0],
        intervention=STRATEGIES[1],
        threshold=t.value,
        grid=t.ceac.values(),
        alternatives=t.alternatives,
        vial_price=base["blinatumomab.vial_price"],
        population=None if setting.population is None else setting.population.value,
    )
    outcomes = {
        arm: {
            c: float(g[c].mean())
            for c in ("children", "on_blinatumomab", "relapse", "hsct", "cart", "death_by_age_30")
        }
        for arm, g in psa.groupby("arm", sort=False)
    }
    return {
        "currency": setting.currency,
        "price_year": setting.price_year,
        "discount_rate": {
            "costs": setting.discount.costs.value,
            "effects": setting.discount.effects.value,
            "mode": cfg.discounting,
        },
        "setting": {"name": setting.name, "description": setting.description},
        "origin": cfg.origin,
        "n": cfg.n,
        "seed": cfg.seed,
        "psa": cfg.psa,
        "calibration": status,
        "model_outcomes": outcomes,
        **out,
        "blinasim_version": __version__,
        "inputs": identity,
        "disclaimer": DISCLAIMER,
    }


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def run_cea(
    cfg: CeaConfig,
    out_dir: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Callable[[int, int], None] | None = None,
    report: bool = True,
    fresh: bool = False,
    warn: Callable[[str], None] = _stderr,
) -> CeaResult:
    """Run (or resume) the CEA and write every output (see the module docstring)."""
    t0 = time.perf_counter()
    if workers is not None and workers < 1:
        raise InputError("workers >= 1", field="--workers", got=workers)
    check_config(cfg)
    tasks, status = make_tasks(cfg)
    identity = input_identity(cfg)
    out = Path(out_dir) if out_dir is not None else default_out_dir(cfg.trial)
    folder = claim_folder(out, identity, kind=KIND, outputs=OUTPUT_FILES, fresh=fresh)
    store = BlockStore(folder, identity["digest"], warn)
    done = {t.key for t in tasks if store.load(t.key, list(t.iterations), tables_for(t))}
    todo = [t for t in tasks if t.key not in done]
    if progress is not None:
        progress(len(done), len(tasks))

    def finished(i: int, res: dict[str, Any]) -> None:
        t = todo[i]
        store.save(t.key, list(t.iterations), res)
        done.add(t.key)
        if progress is not None:
            progress(len(done), len(tasks))

    def saved() -> str:
        n_its = sum(len(t.iterations) for t in tasks if t.key in done)
        return (
            f"{n_its} of {cfg.psa} PSA iterations are saved in {out}; run the same command "
            "again to resume"
        )

    with resumable(saved):
        stream_tasks(run_task, todo, finished, workers=workers, scheduler=scheduler)
        t_sim = time.perf_counter() - t0
        files: dict[str, str] = {}
        psa_keys = [t.key for t in tasks if t.kind == "psa"]
        for name, keys in (
            ("psa", psa_keys),
            ("inputs", psa_keys),
            ("base", ["base"]),
            ("tornado", ["base"]),
            ("profile", ["base"]),
        ):
            store.concat(keys, name, out / f"{name}.parquet")
            files[name] = f"{name}.parquet"
        psa = store.read(out / "psa.parquet")
        summary = _summary(cfg, psa, status, identity)
        write_results_json(out / "summary.json", summary)
        atomic_write_json(out / "inputs_table.json", inputs_table(load_setting(cfg.setting)))
        files.update({"summary": "summary.json", "inputs_table": "inputs_table.json"})
        if report:
            files["report"] = "report.html"
        timings = {"simulate_s": t_sim, "total_s": time.perf_counter() - t0}
        write_manifest(
            out,
            kind=KIND,
            design={"trial": cfg.trial, "protocol": PROTOCOL, "setting": cfg.setting},
            design_hash=identity["digest"],
            seed=cfg.seed,
            files=files,
            timings=timings,
            extra={"config": asdict(cfg), "inputs": identity, "calibration": status},
        )
        if report:
            write_report(out)
    return CeaResult(out, summary, {**timings, "total_s": time.perf_counter() - t0})


__all__ = ["KIND", "CeaConfig", "CeaResult", "check_config", "input_identity", "run_cea"]

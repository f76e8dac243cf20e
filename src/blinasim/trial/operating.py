"""Operating characteristics of a design: many simulated trials, in blocks, with checkpoints.

This is the trial engine's own replication (``blinasim trial replicate``), not a job of
:mod:`blinasim.jobs`. Replicate ``r`` of a run with root ``seed`` is the trial of
:func:`~blinasim.trial.run.run_trial` with
``seed=seed, replicate=r``: its random numbers are keyed by ``r`` (never by the worker or
the block), so 1 worker, K workers and a Dask cluster give identical numbers. Trials are
simulated and analysed in blocks of ``block_size`` replicates with the batched
statistics of :mod:`blinasim.stats`.

With ``checkpoint_dir``, each finished block is written atomically
(``block-<start>-<stop>.npz``, temporary file + ``os.replace``) beside a manifest that
binds the folder to the design hash, the seed and the block size. A run killed at any
moment and restarted with the same arguments reuses the finished blocks and computes only
the missing ones: its result equals an uninterrupted run's. A folder made for another
design or seed is refused with a one-line error.
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim._version import __version__
from blinasim.errors import InputError
from blinasim.io.checkpoint import atomic_write_bytes, atomic_write_json, read_json
from blinasim.parallel import map_tasks
from blinasim.trial.design import TrialDesign
from blinasim.trial.looks import (
    DECISION_EFFICACY,
    DECISION_FUTILITY,
    DECISION_HARM,
    BlockOutcome,
    BoundaryCache,
    evaluate_block,
)
from blinasim.trial.patients import simulate_block
from blinasim.trial.sources import outcome_source
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]

DEFAULT_BLOCK_SIZE = 100
CHECKPOINT_MANIFEST = "checkpoint.json"


@dataclasses.dataclass(frozen=True)
class _BlockTask:
    design: TrialDesign
    seed: int
    start: int
    stop: int


def _run_block(task: _BlockTask) -> BlockOutcome:
    """Simulate and analyse replicates ``start .. stop-1`` (module level: picklable)."""
    d = task.design
    source = outcome_source(d)
    block = simulate_block(d, source, seed=task.seed, replicates=range(task.start, task.stop))
    return evaluate_block(d, block, _boundary_cache(d))


_CACHES: dict[str, BoundaryCache] = {}


def _boundary_cache(design: TrialDesign) -> BoundaryCache:
    key = design.design_hash()
    c = _CACHES.get(key)
    if c is None:
        c = BoundaryCache(design)
        _CACHES.clear()
        _CACHES[key] = c
    return c


# ---------------------------------------------------------------------------------------
# Results


def _concat(blocks: list[BlockOutcome]) -> BlockOutcome:
    fields = {}
    for f in dataclasses.fields(BlockOutcome):
        fields[f.name] = np.concatenate([getattr(b, f.name) for b in blocks], axis=0)
    out = BlockOutcome(**fields)
    order = np.argsort(out.replicate, kind="stable")
    return BlockOutcome(**{k: v[order] for k, v in fields.items()})


@dataclasses.dataclass(frozen=True)
class OperatingCharacteristics:
    """Operating characteristics of a design from ``n_replicates`` simulated trials.

    ``rejection_probability`` is the power (or, under the null, the type I error) with its
    Monte Carlo SE (a two-sided design rejects on either side, as rpact's
    ``overallReject``); ``stop_efficacy``/``stop_futility``/``stop_harm`` the probabilities of
    each decision at each look; ``expected_*`` the means over trials of the number
    randomized, the duration (years from the study start to the decision) and the DFS
    events at the decision. ``outcomes`` holds every trial's monitoring and report.
    """

    design_name: str
    design_hash: str
    seed: int
    n_replicates: int
    look_names: tuple[str, ...]
    rejection_probability: float
    rejection_se: float
    stop_efficacy: FloatArray
    stop_futility: FloatArray
    stop_harm: FloatArray
    expected_randomized: float
    expected_duration_years: float
    expected_events: float
    outcomes: BlockOutcome
    elapsed_s: float

    def replicates_frame(self) -> pd.DataFrame:
        """One row per simulated trial."""
        o = self.outcomes
        return pd.DataFrame(
            {
                "replicate": o.replicate,
                "stop_look": o.stop_look + 1,
                "rejected": o.rejected,
                "early_stop": o.early_stop,
                "n_randomized": o.n_randomized,
                "duration_years": o.duration_days / DAYS_PER_YEAR,
                "report_events": o.report_events,
                "z": o.report_z,
                "p_value": o.report_p,
                "hr_logrank": o.hr_logrank,
                "dfs_milestone_control": o.dfs_milestone[:, 0],
                "dfs_milestone_experimental": o.dfs_milestone[:, 1],
                "dfs_milestone_se_control": o.dfs_milestone_se[:, 0],
                "dfs_milestone_se_experimental": o.dfs_milestone_se[:, 1],
                "crossed_over": o.crossed_over,
            }
        )

    def looks_frame(self) -> pd.DataFrame:
        """Long table: replicate, look, day, events, z, bounds, decision."""
        o = self.outcomes
        b, k = o.z.shape
        rep = np.repeat(o.replicate, k)
        look = np.tile(np.arange(1, k + 1), b)
        df = pd.DataFrame(
            {
                "replicate": rep,
                "look": look,
                "day": o.look_day.ravel(),
                "events": o.look_events.ravel(),
                "n_randomized": o.look_n.ravel(),
                "z": o.z.ravel(),
                "critical_value": o.critical.ravel(),
                "futility_bound": o.futility.ravel(),
                "decision": o.decision.ravel(),
            }
        )
        return df[df["decision"] >= 0].reset_index(drop=True)

    def summary_frame(self) -> pd.DataFrame:
        """The operating characteristics as a long table: quantity, look, value."""
        rows: list[tuple[str, str, float]] = [
            ("replicates", "", float(self.n_replicates)),
            ("rejection probability", "", self.rejection_probability),
            ("Monte Carlo SE", "", self.rejection_se),
            ("expected randomized", "", self.expected_randomized),
            ("expected duration (years)", "", self.expected_duration_years),
            ("expected DFS events at decision", "", self.expected_events),
        ]
        for i, name in enumerate(self.look_names):
            rows.append(("P(stop for efficacy)", name, float(self.stop_efficacy[i])))
            rows.append(("P(stop for futility)", name, float(self.stop_futility[i])))
            rows.append(("P(stop for harm)", name, float(self.stop_harm[i])))
        hr = self.outcomes.hr_logrank
        hr = hr[np.isfinite(hr)]
        if hr.size:
            for q in (0.05, 0.5, 0.95):
                rows.append(
                    (f"hazard ratio (log-rank) q{int(q * 100):02d}", "", float(np.quantile(hr, q)))
                )
        for j, arm in enumerate(("control", "experimental")):
            s = self.outcomes.dfs_milestone[:, j]
            s = s[np.isfinite(s)]
            if s.size:
                rows.append((f"mean DFS at milestone, {arm}", "", float(s.mean())))
        return pd.DataFrame(rows, columns=["quantity", "look", "value"])


def _summarize(
    design: TrialDesign, seed: int, out: BlockOutcome, elapsed: float
) -> OperatingCharacteristics:
    n = int(out.replicate.size)
    k = len(design.analyses)
    rej = float(out.rejected.mean()) if n else float("nan")
    stop = out.stop_look

    def by_look(code: int) -> FloatArray:
        hit = out.decision[np.arange(n), stop] == code
        return np.array([float(np.mean(hit & (stop == i))) for i in range(k)])

    return OperatingCharacteristics(
        design_name=design.name,
        design_hash=design.design_hash(),
        seed=seed,
        n_replicates=n,
        look_names=tuple(a.name for a in design.analyses),
        rejection_probability=rej,
        rejection_se=float(np.sqrt(rej * (1 - rej) / n)) if n else float("nan"),
        stop_efficacy=by_look(DECISION_EFFICACY),
        stop_futility=by_look(DECISION_FUTILITY),
        stop_harm=by_look(DECISION_HARM),
        expected_randomized=float(out.n_randomized.mean()),
        expected_duration_years=float(out.duration_days.mean() / DAYS_PER_YEAR),
        expected_events=float(out.look_events[np.arange(n), stop].mean()),
        outcomes=out,
        elapsed_s=elapsed,
    )


# ---------------------------------------------------------------------------------------
# Checkpoints


def _block_name(start: int, stop: int) -> str:
    return f"block-{start:09d}-{stop:09d}.npz"


def _save_block(folder: Path, start: int, stop: int, out: BlockOutcome) -> None:
    buf = io.BytesIO()
    np.savez(buf, **{f.name: getattr(out, f.name) for f in dataclasses.fields(BlockOutcome)})
    atomic_write_bytes(folder / _block_name(start, stop), buf.getvalue())


def _load_block(path: Path) -> BlockOutcome | None:
    try:
        with np.load(path) as z:
            return BlockOutcome(**{f.name: z[f.name] for f in dataclasses.fields(BlockOutcome)})
    except (OSError, KeyError, ValueError):
        return None  # unreadable or from another version: recompute it


def bind_checkpoint(folder: Path, design: TrialDesign, seed: int, block_size: int) -> None:
    """Bind ``folder`` to this run (design hash, seed, block size, version).

    A new folder gets a ``checkpoint.json``; a folder of another run raises a one-line
    :class:`~blinasim.errors.InputError`.
    """
    want = {
        "design_name": design.name,
        "design_hash": design.design_hash(),
        "seed": seed,
        "block_size": block_size,
        "blinasim_version": __version__,
    }
    man = folder / CHECKPOINT_MANIFEST
    if man.is_file():
        have = read_json(man)
        for key in ("design_hash", "seed", "block_size", "blinasim_version"):
            if have.get(key) != want[key]:
                shown = have.get("design_name", "?") if key == "design_hash" else have.get(key)
                raise InputError(
                    f"a checkpoint folder made for this run (same design, seed and block "
                    f"size); it holds {key} of another run ({shown!r}): use another folder",
                    file=folder,
                    field=key,
                )
        return
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(man, want)


# ---------------------------------------------------------------------------------------


def replicate(
    design: TrialDesign,
    n: int,
    *,
    seed: int,
    scheduler: Any = None,
    workers: int | None = None,
    checkpoint_dir: str | Path | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> OperatingCharacteristics:
    """Simulate ``n`` trials of ``design`` and summarize their operating characteristics.

    Args:
        design: the trial design.
        n: number of simulated trials.
        seed: root seed; trial ``r`` equals ``run_trial(design, seed=seed, replicate=r)``.
        scheduler: a Dask scheduler address (``"tcp://host:port"``) or a
            ``dask.distributed.Client``; default: local processes.
        workers: local worker processes (default: all cores; 1 = in-process).
        checkpoint_dir: folder for resumable checkpoints (one file per finished block).
        block_size: replicates per block (part of the checkpoint binding).
        progress: ``progress(done, n)`` called after each finished block.
    """
    if n < 1:
        raise InputError("n >= 1 replicates", field="n", got=n)
    if block_size < 1:
        raise InputError("block_size >= 1", field="block_size", got=block_size)
    t0 = time.perf_counter()
    starts = list(range(0, n, block_size))
    spans = [(s, min(s + block_size, n)) for s in starts]
    have: dict[int, BlockOutcome] = {}
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if folder is not None:
        bind_checkpoint(folder, design, seed, block_size)
        for i, (s, e) in enumerate(spans):
            p = folder / _block_name(s, e)
            if p.is_file():
                blk = _load_block(p)
                if blk is not None and np.array_equal(blk.replicate, np.arange(s, e)):
                    have[i] = blk
    todo = [i for i in range(len(spans)) if i not in have]
    done_count = sum(spans[i][1] - spans[i][0] for i in have)
    if progress is not None:
        progress(done_count, n)
    tasks = [_BlockTask(design, seed, spans[i][0], spans[i][1]) for i in todo]

    def on_result(j: int, out: BlockOutcome) -> None:
        nonlocal done_count
        i = todo[j]
        s, e = spans[i]
        if folder is not None:
            _save_block(folder, s, e, out)
        have[i] = out
        done_count += e - s
        if progress is not None:
            progress(done_count, n)

    map_tasks(_run_block, tasks, workers=workers, scheduler=scheduler, on_result=on_result)
    out = _concat([have[i] for i in range(len(spans))])
    return _summarize(design, seed, out, time.perf_counter() - t0)


__all__ = ["DEFAULT_BLOCK_SIZE", "OperatingCharacteristics", "bind_checkpoint", "replicate"]

"""The tasks of ``blinasim cea``: blocks of PSA iterations and the base case (in the workers).

:func:`run_task` is module-level and its :class:`CeaTask` picklable, so
:func:`blinasim.parallel.stream_tasks` runs them in-process, on a process pool or on Dask
with the same numbers. A PSA block returns ``psa`` (one row per iteration and arm) and
``inputs`` (each iteration's drawn costs and utilities); the base case returns ``base``
(both arms at the point values), ``tornado`` (one-way sensitivity) and ``profile``
(cumulative costs and QALYs by category over time from the origin).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from blinasim.economics import (
    CATEGORIES,
    Setting,
    base_values,
    draw_values,
    evaluate,
    load_setting,
    quantities,
    tornado,
)
from blinasim.economics.discount import Mode
from blinasim.economics.evaluate import Origin
from blinasim.io.outdir import claim_job_folder
from blinasim.jobs.cea_sim import (
    STRATEGIES,
    Children,
    base_parameters,
    base_seed,
    iteration_parameters,
    iteration_seed,
    psa_rows,
    simulate_histories,
    subset,
)
from blinasim.units import DAYS_PER_YEAR

BLOCK = 5
"""PSA iterations per task and checkpoint (part of a run's identity)."""

PROFILE_YEARS = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 50.0, 70.0, 100.0)
"""Years from the origin at which the base case's cumulative costs are read."""


@dataclass(frozen=True)
class CeaTask:
    """One task: the base case, or a block of PSA iterations with their posterior draws."""

    kind: Literal["base", "psa"]
    block: int
    iterations: tuple[int, ...]
    draws: tuple[int, ...]
    values: tuple[tuple[tuple[str, float], ...] | None, ...]
    seed: int
    n: int
    setting: str
    origin: str
    discounting: str
    posterior: str

    @property
    def key(self) -> str:
        """Checkpoint name: ``base`` or ``bNNNNN``."""
        return "base" if self.kind == "base" else f"b{self.block:05d}"


def tables_for(task: CeaTask) -> tuple[str, ...]:
    """The tables a task returns."""
    return ("base", "profile", "tornado") if task.kind == "base" else ("inputs", "psa")


def _psa_block(task: CeaTask, setting: Setting) -> dict[str, pd.DataFrame]:
    origin = cast(Origin, task.origin)
    mode = cast(Mode, task.discounting)
    rows: list[dict[str, Any]] = []
    drawn: list[dict[str, Any]] = []
    for it, draw, vals in zip(task.iterations, task.draws, task.values, strict=True):
        ps = iteration_parameters(vals, draw, task.posterior)
        children = simulate_histories(
            task.n, model_seed=iteration_seed(task.seed, it), params=ps, origin=origin
        )
        v = draw_values(setting, task.seed, it)
        for r in psa_rows(children, v, origin=origin, discounting=mode):
            rows.append({"iteration": it, "draw": draw, **r})
        drawn.append({"iteration": it, **{k: float(v[k]) for k in sorted(v)}})
    return {"psa": pd.DataFrame(rows), "inputs": pd.DataFrame(drawn)}


def _profile(children: Children, task: CeaTask, setting: Setting) -> pd.DataFrame:
    """Cumulative costs by category and QALYs per child at :data:`PROFILE_YEARS`."""
    v = base_values(setting)
    origin = cast(Origin, task.origin)
    mode = cast(Mode, task.discounting)
    rows = []
    for arm in STRATEGIES:
        h = children.histories[arm]
        start = h.randomization_day if origin == "randomization" else np.zeros(h.n)
        for y in PROFILE_YEARS:
            cut = replace(h, end_day=np.minimum(h.end_day, start + y * DAYS_PER_YEAR))
            t = evaluate(cut, v, origin=origin, discounting=mode)
            for c in CATEGORIES:
                rows.append(
                    {
                        "arm": arm,
                        "years": y,
                        "category": c,
                        "cost": t.costs_by_category[c],
                        "cost_undiscounted": t.costs_by_category_undiscounted[c],
                    }
                )
            rows.append(
                {
                    "arm": arm,
                    "years": y,
                    "category": "qalys",
                    "cost": t.qalys,
                    "cost_undiscounted": t.qalys_undiscounted,
                }
            )
    return pd.DataFrame(rows)


def _base_case(task: CeaTask, setting: Setting) -> dict[str, pd.DataFrame]:
    origin = cast(Origin, task.origin)
    mode = cast(Mode, task.discounting)
    children = simulate_histories(
        task.n, model_seed=base_seed(task.seed), params=base_parameters(), origin=origin
    )
    v = base_values(setting)
    base = pd.DataFrame(psa_rows(children, v, origin=origin, discounting=mode))
    # only the children whose rows differ between the strategies move the increments: the
    # tornado prices them alone and scales their mean increments to all children (exact:
    # the others' costs and QALYs are the same on both arms)
    n_all = children.histories[STRATEGIES[0]].n
    share = children.differs.size / n_all if n_all else 1.0
    own = {k: subset(h, children.differs) for k, h in children.histories.items()}
    nmb0, rows = tornado(
        own if children.differs.size else children.histories,
        v,
        comparator=STRATEGIES[0],
        intervention=STRATEGIES[1],
        origin=origin,
        discounting=mode,
    )
    torn = pd.DataFrame(
        [
            {
                "input": r.input,
                "base": r.base,
                "low": r.low,
                "high": r.high,
                "nmb_base": nmb0 * share,
                "nmb_low": r.nmb_low * share,
                "nmb_high": r.nmb_high * share,
                "icer_low": r.icer_low.get("value"),
                "icer_high": r.icer_high.get("value"),
                "quadrant_low": r.icer_low.get("quadrant"),
                "quadrant_high": r.icer_high.get("quadrant"),
            }
            for r in rows
        ],
        columns=[
            "input", "base", "low", "high", "nmb_base", "nmb_low", "nmb_high",
            "icer_low", "icer_high", "quadrant_low", "quadrant_high",
        ],
    )  # fmt: skip
    return {"base": base, "tornado": torn, "profile": _profile(children, task, setting)}


def run_task(task: CeaTask) -> dict[str, pd.DataFrame]:
    """Run one task (in the worker: module-level, picklable)."""
    setting = load_setting(task.setting)
    if task.kind == "base":
        return _base_case(task, setting)
    return _psa_block(task, setting)


def inputs_table(setting: Setting) -> list[dict[str, Any]]:
    """Every input of the setting with its value, unit, year, distribution and source."""
    return [
        {
            "input": name,
            "value": q.value,
            "unit": q.unit,
            "year": q.year,
            "distribution": q.distribution,
            "se": q.se,
            "range": None if q.range is None else list(q.range),
            "source": q.source,
        }
        for name, q in quantities(setting).items()
    ]


def claim_folder(
    out: Path, identity: dict[str, str], *, kind: str, outputs: tuple[str, ...], fresh: bool
) -> Path:
    """Bind ``out`` to this CEA's inputs (its ``checkpoints`` folder), or refuse it.

    A folder holding another job's results, or a CEA with other inputs, is refused in one
    line (``fresh`` discards this job's checkpoints and outputs first).
    """
    return claim_job_folder(
        out,
        identity,
        kind=kind,
        command="cea",
        noun="CEA",
        checkpoint_prefixes=("b", "base."),
        outputs=outputs,
        fresh=fresh,
    )


__all__ = ["BLOCK", "PROFILE_YEARS", "CeaTask", "claim_folder", "inputs_table", "run_task"]

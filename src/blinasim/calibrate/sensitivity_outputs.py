"""The key outputs of the global sensitivity analysis, from one simulation of the calibration.

Issue 13 ("Calibration v3") names the outputs a fixed parameter must not move: 3-year DFS
per randomized arm, the pooled DFS hazard ratio (blinatumomab arms against chemotherapy
arms), the isolated-CNS share of relapses, the CD19-negative share of relapses on the
blinatumomab arms and the late-relapse share (>= 36 months from diagnosis). Each is computed
from the calibration simulator's patient table with the calibration's own summaries
(:mod:`blinasim.calibrate.summaries`: the same frame, populations and Monte Carlo SEs as the
targets), so a sensitivity run and a calibration look at the same numbers:

* ``dfs3_arm_<X>``: DFS 3 years from randomization of the randomized rows of arm ``X``
  (every randomized arm found in the simulation; a randomized child has one row per arm of
  its stratum, common random numbers);
* ``hr_dfs``: Cox hazard ratio (Efron ties, unstratified) of DFS from randomization,
  blinatumomab arms (config ``simulation.blinatumomab_arms``) against the other randomized
  arms, censored at 3 years (the span of the published 3-year DFS); Monte Carlo SE by the
  delta method, ``HR x SE(log HR)``;
* ``isolated_cns_share``: isolated CNS share of first relapses, chemotherapy population of
  the ``marrow_share`` target (the complement of its marrow share: sites are marrow,
  combined or CNS);
* ``cd19neg_share_blina``: CD19-negative share of relapses on the blinatumomab arms (the
  ``cd19neg_share`` target's statistic);
* ``late_relapse_share``: share of first relapses >= 36 months from diagnosis (the
  ``late_relapse_share`` target's statistic and population).

The *published SE* of an output is read from the target file by the target's lookup fields
(never a number written here): the 3-year DFS target of the arm's kind and stratum, the
``cd19neg_share`` and ``late_relapse_share`` targets, the ``marrow_share`` target for the
isolated-CNS share (a share and its complement have the same SE) and a target of quantity
``hazard_ratio`` if the file has one. An output without one is compared with its Monte Carlo
noise alone (see :mod:`blinasim.calibrate.sensitivity`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from blinasim.calibrate.summaries import (
    SummaryValue,
    _cd19neg_share,
    _dfs,
    _Frame,
    _frame,
    _late_share,
    _marrow_share,
)
from blinasim.calibrate.targets import SummarySpec, Target, TargetSet
from blinasim.stats.cox import cox_ph
from blinasim.units import DAYS_PER_YEAR

DFS_YEARS = 3.0
"""Landmark of the per-arm DFS and censoring time of the hazard ratio (years)."""
LATE_MONTHS = 36.0
"""A relapse this many months or more after diagnosis is late (Rheingold 2024)."""
DFS_PREFIX = "dfs3_arm_"
HR = "hr_dfs"
CNS = "isolated_cns_share"
CD19NEG = "cd19neg_share_blina"
LATE = "late_relapse_share"


@dataclass(frozen=True)
class OutputInfo:
    """One key output: what it is, its published SE (if the target file has one) and noise."""

    id: str
    label: str
    published_se: float | None
    published_target: str | None
    """Id of the target the published SE comes from (None: not in the target file)."""


def _randomized_arms(f: _Frame) -> list[str]:
    return sorted({str(a) for a in f.arm[f.randomized]})


def _hazard_ratio(f: _Frame) -> SummaryValue:
    m = f.randomized
    t = f.first_event[m] - f.rand[m]
    cut = DFS_YEARS * DAYS_PER_YEAR
    event = (t <= cut).astype(np.float64)
    time = np.minimum(t, cut)
    x = f.blina[m].astype(np.float64)
    n = int(m.sum())
    if n == 0 or event[x == 1].sum() == 0 or event[x == 0].sum() == 0 or x.min() == x.max():
        return SummaryValue(math.nan, math.nan, n)
    fit = cox_ph(time, event, x)
    hr = float(fit.hr[0])
    return SummaryValue(hr, hr * float(fit.se[0]), n)


def _rows(f: _Frame, m: NDArray[np.bool_]) -> _Frame:
    """The frame restricted to the rows ``m``."""
    return dataclasses.replace(
        f, **{fl.name: getattr(f, fl.name)[m] for fl in dataclasses.fields(f)}
    )


def key_outputs(outcomes: Any, blina_arms: Sequence[str]) -> dict[str, SummaryValue]:
    """Every key output of one simulation (``outcomes.patients``), by output id."""
    f = _frame(outcomes.patients, blina_arms)
    out: dict[str, SummaryValue] = {}
    for arm in _randomized_arms(f):
        kind = "blinatumomab" if arm in blina_arms else "chemotherapy"
        spec = SummarySpec(statistic="dfs", years=DFS_YEARS, stratum="all", arm=kind)
        out[DFS_PREFIX + arm] = _dfs(_rows(f, np.asarray(f.arm == arm)), spec)
    out[HR] = _hazard_ratio(f)
    marrow = _marrow_share(f, SummarySpec(statistic="marrow_share", arm="chemotherapy"))
    # sites are marrow, combined or CNS: the isolated-CNS share is the complement
    out[CNS] = SummaryValue(1.0 - marrow.value, marrow.mc_se, marrow.n)
    out[CD19NEG] = _cd19neg_share(f, SummarySpec(statistic="cd19neg_share", arm="blinatumomab"))
    out[LATE] = _late_share(
        f, SummarySpec(statistic="late_relapse_share", months=LATE_MONTHS, arm="chemotherapy")
    )
    return out


def _one(hits: Sequence[Target]) -> Target | None:
    with_summary = [t for t in hits if t.summary is not None] or list(hits)
    return with_summary[0] if len(with_summary) == 1 else None


def _find(ts: TargetSet, quantity: str, **fields: object) -> Target | None:
    hits = [
        t
        for t in ts.targets
        if str(t.quantity) == quantity and all(getattr(t, k) == v for k, v in fields.items())
    ]
    return _one(hits)


def describe_outputs(
    outcomes: Any, blina_arms: Sequence[str], targets: TargetSet, ids: Sequence[str]
) -> tuple[OutputInfo, ...]:
    """Label and published SE of the outputs ``ids`` (from the base point's simulation)."""
    f = _frame(outcomes.patients, blina_arms)
    info: list[OutputInfo] = []
    for oid in ids:
        t: Target | None
        if oid.startswith(DFS_PREFIX):
            arm = oid.removeprefix(DFS_PREFIX)
            m = f.randomized & (f.arm == arm)
            groups = sorted({str(g) for g in f.group[m]})
            kind = "blinatumomab" if arm in blina_arms else "chemotherapy"
            stratum = groups[0] if len(groups) == 1 else "all"
            label = f"3-y DFS, arm {arm} ({stratum}, {kind})"
            t = _find(targets, "dfs", arm=kind, stratum=stratum, time_years=DFS_YEARS)
        elif oid == HR:
            label = "DFS hazard ratio, blinatumomab vs chemotherapy arms (3 y)"
            t = _find(targets, "hazard_ratio")
        elif oid == CNS:
            label = "isolated-CNS share of relapses (chemotherapy)"
            t = _find(targets, "marrow_share", arm="chemotherapy")
        elif oid == CD19NEG:
            label = "CD19-negative share of relapses (blinatumomab arms)"
            t = _find(targets, "cd19neg_share", arm="blinatumomab")
        elif oid == LATE:
            label = "late-relapse share (>= 36 months from diagnosis)"
            t = _find(targets, "late_relapse_share")
        else:  # pragma: no cover - ids come from key_outputs
            raise ValueError(f"unknown output {oid!r}")
        info.append(
            OutputInfo(
                id=oid,
                label=label,
                published_se=float(t.se) if t is not None and t.se > 0 else None,
                published_target=t.id if t is not None else None,
            )
        )
    return tuple(info)


def as_row(
    values: Mapping[str, SummaryValue], ids: Sequence[str]
) -> tuple[list[float], list[float]]:
    """Values and Monte Carlo SEs of ``ids`` (NaN where the simulation has no such output)."""
    nan = SummaryValue(math.nan, math.nan, 0)
    vals = [float(values.get(i, nan).value) for i in ids]
    ses = [float(values.get(i, nan).mc_se) for i in ids]
    return vals, ses


__all__ = [
    "CD19NEG",
    "CNS",
    "DFS_PREFIX",
    "DFS_YEARS",
    "HR",
    "LATE",
    "LATE_MONTHS",
    "OutputInfo",
    "as_row",
    "describe_outputs",
    "key_outputs",
]

"""The patients of simulated trials: accrual, risk groups, randomization, event times.

:func:`simulate_patients` draws the patients of one trial (truth, before any data cut);
:func:`simulate_block` draws those of several trials as ``(replicates, patients)`` arrays
(:class:`PatientBlock`), vectorized over trials for parametric designs closed at a target
sample size, with the same random numbers and values as trial by trial.

Calendar times are days from the study start; patient times are days from randomization.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from blinasim.trial.accrual import cumulative_intensity, enrollment_days, inverse_intensity
from blinasim.trial.design import TrialDesign
from blinasim.trial.randomization import stratified_assignments, stratified_assignments_many
from blinasim.trial.sources import OutcomeSource, ParametricOutcomes
from blinasim.trial.sources.base import (
    PATIENT_DRAWS,
    U_ACCRUAL,
    U_DFS,
    U_LTFU,
    U_REACH,
    U_RISK,
    Enrollees,
    patient_uniforms,
)
from blinasim.trial.sources.parametric import risk_groups_from_uniforms
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def loss_to_follow_up_days(design: TrialDesign, u: FloatArray) -> FloatArray:
    """Days from randomization to loss to follow-up from the patients' ``U_LTFU`` uniforms."""
    rate = design.loss_to_follow_up.rate_per_year
    if rate > 0:
        return np.asarray(-np.log1p(-u) / rate * DAYS_PER_YEAR, dtype=np.float64)
    return np.full(u.shape, np.inf)


@dataclasses.dataclass(frozen=True)
class SimulatedPatients:
    """The patients of one simulated trial (truth, before any data cut).

    Enrolled patients (index = order of enrolment): ``enroll_day``, ``risk_group``;
    ``screened`` counts the children screened to enrol them.
    Randomized patients, in order of randomization: ``patient`` (enrolment index),
    ``stratum``, ``arm`` (0 control, 1 experimental), ``rand_day`` (calendar),
    ``dfs``/``death``/``ltfu`` (days from randomization, ``inf`` = never) and
    ``dfs_cause``.
    """

    replicate: int
    strata: tuple[str, ...]
    risk_group_names: tuple[str, ...]
    screened: int
    enroll_day: FloatArray
    risk_group: IntArray
    patient: IntArray
    stratum: IntArray
    arm: IntArray
    rand_day: FloatArray
    rand_delay: FloatArray
    dfs: FloatArray
    dfs_cause: IntArray
    death: FloatArray
    ltfu: FloatArray

    @property
    def n_randomized(self) -> int:
        """Number randomized."""
        return int(self.patient.size)

    def dfs_event_days(self) -> FloatArray:
        """Calendar day of each observable DFS event (``inf`` if censored by loss first)."""
        seen = self.dfs <= self.ltfu
        return np.where(seen, self.rand_day + self.dfs, np.inf)


def _randomization_share(design: TrialDesign) -> float:
    return sum(
        g.fraction * g.randomized_fraction for g in design.population.risk_groups if g.randomized
    )


def _initial_enrollees(design: TrialDesign) -> int:
    """How many enrollees to draw first (enough in almost every trial)."""
    acc = design.accrual
    if acc.target_randomized is not None:
        share = max(_randomization_share(design), 0.01)
        return math.ceil(acc.target_randomized / share * 1.08) + 64
    assert acc.stop_date is not None
    stop = float((acc.stop_date - acc.start_date).days)
    return math.ceil(float(cumulative_intensity(acc, stop)) * 1.08) + 64


def simulate_patients(
    design: TrialDesign, source: OutcomeSource, *, seed: int, replicate: int
) -> SimulatedPatients:
    """Draw the patients of trial ``replicate``: accrual, risk groups, randomization, times."""
    acc = design.accrual
    admin_end = design.max_follow_up_years * DAYS_PER_YEAR
    n = _initial_enrollees(design)
    if acc.stop_date is not None:
        stop = float((acc.stop_date - acc.start_date).days)
    while True:
        # per-patient uniforms: accrual gap, loss to follow-up (columns of PATIENT_STREAM)
        u = patient_uniforms(seed, replicate, n)
        days = enrollment_days(acc, n, seed=seed, replicate=replicate, uniforms=u[:, U_ACCRUAL])
        enr = source.enroll(n, seed=seed, replicate=replicate)
        if acc.target_randomized is not None:
            idx = np.flatnonzero(enr.randomizable)
            if idx.size >= acc.target_randomized:
                n_enrolled = int(idx[acc.target_randomized - 1]) + 1
                break
        else:
            if days[-1] >= stop:
                n_enrolled = int(np.searchsorted(days, stop, side="left"))
                break
        if days[-1] > admin_end * 4:
            raise RuntimeError("accrual never reaches its target: check the design's rates")
        n *= 2
    return _assemble(
        design, source, enr, days, u[:, U_LTFU], n_enrolled, seed=seed, replicate=replicate
    )


def _assemble(
    design: TrialDesign,
    source: OutcomeSource,
    enr: Enrollees,
    days: FloatArray,
    u_ltfu: FloatArray,
    n_enrolled: int,
    *,
    seed: int,
    replicate: int,
) -> SimulatedPatients:
    strata = source.strata
    stratum_all = enr.stratum[:n_enrolled]
    sel = np.flatnonzero(stratum_all >= 0)
    rand_day = days[sel] + enr.randomization_delay[sel]
    order = np.argsort(rand_day, kind="stable")
    patient = sel[order].astype(np.int64)
    rand_day = rand_day[order]
    stratum = stratum_all[patient]
    arm = stratified_assignments(
        stratum, len(strata), design.allocation, seed=seed, replicate=replicate
    )
    times = source.outcomes(patient, stratum, arm, seed=seed, replicate=replicate)
    ltfu = loss_to_follow_up_days(design, u_ltfu[patient])
    return SimulatedPatients(
        replicate=replicate,
        strata=strata,
        risk_group_names=enr.risk_group_names,
        screened=int(enr.screened[n_enrolled - 1])
        if enr.screened is not None and n_enrolled > 0
        else n_enrolled,
        enroll_day=days[:n_enrolled].copy(),
        risk_group=enr.risk_group[:n_enrolled].copy(),
        patient=patient,
        stratum=stratum.astype(np.int64),
        arm=arm.astype(np.int64),
        rand_day=rand_day,
        rand_delay=enr.randomization_delay[patient],
        dfs=times.dfs,
        dfs_cause=times.dfs_cause,
        death=times.death,
        ltfu=ltfu,
    )


def _stack(values: Sequence[FloatArray | IntArray], fill: float, dtype: Any) -> NDArray[Any]:
    width = max((v.size for v in values), default=0)
    out = np.full((len(values), max(width, 1)), fill, dtype=dtype)
    for i, v in enumerate(values):
        out[i, : v.size] = v
    return out


@dataclasses.dataclass(frozen=True)
class PatientBlock:
    """Randomized patients of a block of trials, ``(replicates, patients)`` arrays.

    Rows are trials (``replicate``), columns randomized patients in order of
    randomization, padded with ``valid = False``.
    """

    replicate: IntArray
    rand_day: FloatArray
    dfs: FloatArray
    ltfu: FloatArray
    arm: IntArray
    stratum: IntArray
    valid: BoolArray


def stack_patients(trials: Sequence[SimulatedPatients]) -> PatientBlock:
    """Stack simulated trials into a :class:`PatientBlock`."""
    valid = _stack([np.ones(p.n_randomized, dtype=bool) for p in trials], False, bool)
    return PatientBlock(
        replicate=np.array([p.replicate for p in trials], dtype=np.int64),
        rand_day=_stack([p.rand_day for p in trials], np.inf, np.float64),
        dfs=_stack([p.dfs for p in trials], np.inf, np.float64),
        ltfu=_stack([p.ltfu for p in trials], np.inf, np.float64),
        arm=_stack([p.arm for p in trials], 0, np.int64),
        stratum=_stack([p.stratum for p in trials], 0, np.int64),
        valid=valid,
    )


def simulate_block(
    design: TrialDesign, source: OutcomeSource, *, seed: int, replicates: Sequence[int]
) -> PatientBlock:
    """Simulate the randomized patients of several trials (vectorized when possible).

    Parametric designs closed at a target sample size take a path vectorized over the
    trials; it draws the same random numbers and gives the same values as
    :func:`simulate_patients` trial by trial (which every other design uses).
    """
    if isinstance(source, ParametricOutcomes) and design.accrual.target_randomized is not None:
        return _simulate_block_parametric(design, source, seed=seed, replicates=replicates)
    return stack_patients(
        [simulate_patients(design, source, seed=seed, replicate=r) for r in replicates]
    )


def _simulate_block_parametric(
    design: TrialDesign, source: ParametricOutcomes, *, seed: int, replicates: Sequence[int]
) -> PatientBlock:
    acc = design.accrual
    target = acc.target_randomized
    assert target is not None
    n = _initial_enrollees(design)
    reps = list(replicates)
    b = len(reps)
    u = np.stack([patient_uniforms(seed, r, n) for r in reps])
    _, stratum_all, delay = risk_groups_from_uniforms(
        design.population, u[:, :, U_RISK : U_REACH + 1]
    )
    rz = stratum_all >= 0
    short = np.flatnonzero(rz.sum(axis=1) < target)
    if short.size:  # rare: not enough randomized among the first n, redo those one by one
        slow = stack_patients(
            [simulate_patients(design, source, seed=seed, replicate=reps[i]) for i in short]
        )
    if acc.process == "uniform":
        op = np.broadcast_to(np.arange(n, dtype=np.float64), (b, n))
    else:
        op = np.cumsum(-np.log1p(-u[:, :, U_ACCRUAL]), axis=1)
    days = inverse_intensity(acc, op)
    # the first `target` randomizable enrollees of each trial, in enrolment order
    first = rz & (np.cumsum(rz, axis=1) <= target)
    if short.size:  # stand-in rows, overwritten by the trial-by-trial rows below
        first[short] = False
        first[short, :target] = True
    pos = np.nonzero(first)[1].reshape(b, target)
    rand = np.take_along_axis(days, pos, axis=1) + np.take_along_axis(delay, pos, axis=1)
    order = np.argsort(rand, axis=1, kind="stable")
    patient = np.take_along_axis(pos, order, axis=1)
    rand_day = np.take_along_axis(rand, order, axis=1)
    stratum = np.take_along_axis(stratum_all, patient, axis=1)
    arm = stratified_assignments_many(
        stratum, len(source.strata), design.allocation, seed=seed, replicates=reps
    )
    up = np.take_along_axis(u, patient[:, :, None], axis=1)
    dfs = source.times_from_uniforms(
        up[:, :, U_DFS:].reshape(b * target, PATIENT_DRAWS - U_DFS), stratum.ravel(), arm.ravel()
    )[0].reshape(b, target)
    ltfu = loss_to_follow_up_days(design, up[:, :, U_LTFU])
    block = PatientBlock(
        replicate=np.asarray(reps, dtype=np.int64),
        rand_day=rand_day,
        dfs=dfs,
        ltfu=ltfu,
        arm=arm.astype(np.int64),
        stratum=stratum.astype(np.int64),
        valid=np.ones((b, target), dtype=bool),
    )
    if short.size:
        fields = {f.name: getattr(block, f.name).copy() for f in dataclasses.fields(PatientBlock)}
        for j, i in enumerate(short.tolist()):
            for name, arr in fields.items():
                if name != "replicate":
                    arr[i] = getattr(slow, name)[j, :target]
        block = PatientBlock(**fields)
    return block


__all__ = [
    "PatientBlock",
    "SimulatedPatients",
    "loss_to_follow_up_days",
    "simulate_block",
    "simulate_patients",
    "stack_patients",
]

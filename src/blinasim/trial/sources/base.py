"""What the trial engine asks of an outcome source, and the per-patient random layout.

An *outcome source* answers two questions for one simulated trial (one replicate):

* :meth:`OutcomeSource.enroll` -- for the first ``n`` enrolled patients: risk group,
  whether the patient reaches randomization, the stratum and the randomization point
  (days from enrolment, i.e. from diagnosis);
* :meth:`OutcomeSource.outcomes` -- for randomized patients (enrolment index, stratum,
  arm): DFS and death times in days from randomization (``inf``: no event), and the cause
  of the DFS event.

The sources are :class:`~blinasim.trial.sources.parametric.ParametricOutcomes` (laws of
the design file) and :class:`~blinasim.trial.sources.mechanistic.MechanisticOutcomes`
(the patient model); :func:`blinasim.trial.sources.outcome_source` picks one.

Every per-patient draw of the engine and of the parametric source comes from one stream,
:data:`PATIENT_STREAM`, laid out by :func:`patient_uniforms` (one row per enrollee, one
column per use, keyed by replicate): a patient's draws never depend on the cohort size.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from blinasim import rng

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

PATIENT_STREAM = "trial.patient"
"""The per-patient uniforms of a trial, one row per enrollee (keyed by replicate)."""
PATIENT_DRAWS = 7
"""Columns: accrual gap, loss to follow-up, risk group, reaching randomization, DFS,
death after the event, time from the event to death."""
U_ACCRUAL, U_LTFU, U_RISK, U_REACH, U_DFS, U_DEATH, U_DEATH_DELAY = range(PATIENT_DRAWS)


def patient_uniforms(seed: int, replicate: int, n: int) -> FloatArray:
    """The uniforms of enrollees ``0 .. n-1`` of trial ``replicate``: ``(n, PATIENT_DRAWS)``.

    Columns ``U_ACCRUAL`` .. ``U_DEATH_DELAY``; row ``i`` is the same whatever ``n``.
    """
    return rng.uniforms(seed, PATIENT_STREAM, 0, n, replicate, k=PATIENT_DRAWS)


CAUSE_NONE = 0
CAUSE_RELAPSE = 1
CAUSE_DEATH = 2
CAUSE_SECOND_MALIGNANCY = 3
CAUSE_EVENT = 4
CAUSE_LABELS = {
    CAUSE_NONE: "",
    CAUSE_RELAPSE: "RELAPSE",
    CAUSE_DEATH: "DEATH IN REMISSION",
    CAUSE_SECOND_MALIGNANCY: "SECOND MALIGNANCY",
    CAUSE_EVENT: "DFS EVENT",
}


@dataclasses.dataclass(frozen=True)
class Enrollees:
    """The first ``n`` enrolled patients of one trial, in order of enrolment.

    ``risk_group`` indexes ``risk_group_names``; ``stratum`` indexes the randomized strata
    (``-1``: not randomized); ``randomization_delay`` is in days from enrolment (NaN when
    not randomized); ``screened[i]`` (optional) is the number of children screened up to
    and including enrollee ``i``.
    """

    risk_group_names: tuple[str, ...]
    risk_group: IntArray
    stratum: IntArray
    randomization_delay: FloatArray
    screened: IntArray | None = None

    @property
    def randomizable(self) -> BoolArray:
        """Patients who reach the randomization point."""
        return np.asarray(self.stratum >= 0)


@dataclasses.dataclass(frozen=True)
class EventTimes:
    """Event times of randomized patients, days from randomization (``inf``: none)."""

    dfs: FloatArray
    dfs_cause: IntArray
    death: FloatArray


class OutcomeSource(Protocol):
    """What the trial engine needs from an outcome model."""

    strata: tuple[str, ...]

    def enroll(self, n: int, *, seed: int, replicate: int) -> Enrollees:
        """Risk group and randomization point of the first ``n`` enrolled patients."""
        ...

    def outcomes(
        self,
        patient: IntArray,
        stratum: IntArray,
        arm: IntArray,
        *,
        seed: int,
        replicate: int,
    ) -> EventTimes:
        """Event times from randomization of the given randomized patients."""
        ...


__all__ = [
    "CAUSE_DEATH",
    "CAUSE_EVENT",
    "CAUSE_LABELS",
    "CAUSE_NONE",
    "CAUSE_RELAPSE",
    "CAUSE_SECOND_MALIGNANCY",
    "PATIENT_DRAWS",
    "PATIENT_STREAM",
    "U_ACCRUAL",
    "U_DEATH",
    "U_DEATH_DELAY",
    "U_DFS",
    "U_LTFU",
    "U_REACH",
    "U_RISK",
    "Enrollees",
    "EventTimes",
    "OutcomeSource",
    "patient_uniforms",
]

"""Late effects of therapy among survivors, as dated events (for costs and quality of life).

Each child gets, for every late effect of :data:`LATE_EFFECTS`, the day (from diagnosis) it
starts, or ``inf`` if it never does within the model (or would start after death). What the
child went through sets the risk; the exposures come in a fixed order in time:

- ``first_line``: first-line therapy, from diagnosis (day 0), for every child;
- ``relapse``: relapse and salvage therapy, from the day of the first relapse (children who
  later get CAR-T are in this group: CAR-T is given after salvage chemotherapy, and its own
  long-term effect, B-cell aplasia, is not one of these events);
- ``hsct``: allogeneic HSCT (TBI-based conditioning), from the transplant day.

Each effect has, per exposure, the probability that it starts within an onset window
``[from_years, to_years]`` after that exposure, absent death (parameter section
``late_effects`` of ``parameters.yaml``, each value with its source); the onset is uniform
in the window (a steady incidence, as in the survivors' cumulative-incidence curves; no new
events after the published follow-up: a conservative assumption).

Draws (common random numbers): two uniforms per child and effect from the named stream
``after_relapse.late_effects.<effect>``, ``u`` (whether) and ``w`` (when). The effect is
triggered by the *earliest* exposure ``k`` the child received with ``u < p_k``, and starts
``from + w (to - from)`` years after it. So the same child has the same draws whatever the
arm; only the exposures differ, and an effect a child has after first-line therapy alone
keeps its day when the child also relapses (a lifetime probability of ``max_k p_k`` over the
exposures received). Days at or after death are ``inf`` (censored at death).

Effects are not mutually exclusive: ``severe_chronic`` is the first severe, disabling or
life-threatening (CTCAE grade 3-4) chronic condition of any kind and so overlaps the
specific ones (price it for quality of life, the specific ones for their treatment).
``subsequent_neoplasm`` is the excess after relapse and HSCT only: second malignancies in
first remission are the first-line model's own (:func:`~.first_line.smn_day`, not counted
twice). No late effect changes the death day: survivors' excess late mortality is the
standardized mortality ratio of :mod:`~.lifetime`. A research model, not medical advice.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from blinasim.config import ParameterSet
from blinasim.model import _draws
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

LATE_EFFECTS = (
    "severe_chronic",
    "heart_failure",
    "growth_hormone_deficiency",
    "hypothyroidism",
    "gonadal_failure",
    "osteonecrosis",
    "chronic_gvhd",
    "neurocognitive",
    "subsequent_neoplasm",
)
"""The late effects drawn, in a fixed order (names of the ``late_<name>_day`` columns)."""

DESCRIPTIONS: dict[str, str] = {
    "severe_chronic": "first severe, disabling or life-threatening (grade 3-4) chronic condition",
    "heart_failure": "anthracycline (and radiation) cardiomyopathy with heart failure",
    "growth_hormone_deficiency": "growth hormone deficiency (replacement therapy)",
    "hypothyroidism": "hypothyroidism (replacement therapy)",
    "gonadal_failure": "primary gonadal failure (hormone replacement, infertility)",
    "osteonecrosis": "symptomatic osteonecrosis (pain, joint surgery)",
    "chronic_gvhd": "chronic graft-versus-host disease after allogeneic HSCT",
    "neurocognitive": "neurocognitive impairment (below the population 10th percentile)",
    "subsequent_neoplasm": "subsequent malignant neoplasm after relapse or HSCT",
}
"""What each event is (for reports and the economics setting files)."""

EXPOSURES = ("first_line", "relapse", "hsct")
"""Exposure groups, in their order in time."""

STREAM = "after_relapse.late_effects"
"""Stream family: ``STREAM + "." + effect`` for each effect."""


def column(effect: str) -> str:
    """The trial column of ``effect``: ``late_<effect>_day``."""
    return f"late_{effect}_day"


@dataclass(frozen=True)
class LateEffectsParams:
    """Section ``late_effects``: per effect, probabilities by exposure and an onset window.

    ``<effect>_<exposure>`` is the probability that the effect starts within
    ``[<effect>_from_years, <effect>_to_years]`` after the exposure, absent death.
    """

    severe_chronic_first_line: float
    severe_chronic_relapse: float
    severe_chronic_hsct: float
    severe_chronic_from_years: float
    severe_chronic_to_years: float
    heart_failure_first_line: float
    heart_failure_relapse: float
    heart_failure_hsct: float
    heart_failure_from_years: float
    heart_failure_to_years: float
    growth_hormone_deficiency_first_line: float
    growth_hormone_deficiency_relapse: float
    growth_hormone_deficiency_hsct: float
    growth_hormone_deficiency_from_years: float
    growth_hormone_deficiency_to_years: float
    growth_hormone_deficiency_max_age_years: float
    """Growth hormone deficiency is drawn only for exposures before this age (growing)."""
    hypothyroidism_first_line: float
    hypothyroidism_relapse: float
    hypothyroidism_hsct: float
    hypothyroidism_from_years: float
    hypothyroidism_to_years: float
    gonadal_failure_first_line: float
    gonadal_failure_relapse: float
    gonadal_failure_hsct: float
    gonadal_failure_from_years: float
    gonadal_failure_to_years: float
    osteonecrosis_first_line: float
    osteonecrosis_relapse: float
    osteonecrosis_hsct: float
    osteonecrosis_from_years: float
    osteonecrosis_to_years: float
    chronic_gvhd_first_line: float
    chronic_gvhd_relapse: float
    chronic_gvhd_hsct: float
    chronic_gvhd_from_years: float
    chronic_gvhd_to_years: float
    neurocognitive_first_line: float
    neurocognitive_relapse: float
    neurocognitive_hsct: float
    neurocognitive_from_years: float
    neurocognitive_to_years: float
    subsequent_neoplasm_first_line: float
    subsequent_neoplasm_relapse: float
    subsequent_neoplasm_hsct: float
    subsequent_neoplasm_from_years: float
    subsequent_neoplasm_to_years: float

    def __post_init__(self) -> None:
        for e in LATE_EFFECTS:
            a, b = self.window(e)
            if not 0.0 <= a <= b:
                raise ValueError(f"late_effects.{e}: need 0 <= from_years <= to_years")
            for x in EXPOSURES:
                p = self.probability(e, x)
                if not 0.0 <= p <= 1.0:
                    raise ValueError(f"late_effects.{e}_{x}: a probability in [0, 1]")
        if self.growth_hormone_deficiency_max_age_years <= 0.0:
            raise ValueError("late_effects.growth_hormone_deficiency_max_age_years: > 0")

    def probability(self, effect: str, exposure: str) -> float:
        """Probability of ``effect`` within its window after ``exposure`` (absent death)."""
        return float(getattr(self, f"{effect}_{exposure}"))

    def window(self, effect: str) -> tuple[float, float]:
        """Onset window of ``effect`` in years after the exposure."""
        return (
            float(getattr(self, f"{effect}_from_years")),
            float(getattr(self, f"{effect}_to_years")),
        )

    @classmethod
    def load(cls, params: ParameterSet | None = None) -> LateEffectsParams:
        """Read the ``late_effects`` section (default: the shipped parameter file)."""
        return ParameterSet.given(params).section("late_effects", cls)


FIELDS = tuple(f.name for f in dataclasses.fields(LateEffectsParams))


@dataclass(frozen=True)
class LateEffects:
    """Start day of each late effect (from diagnosis; ``inf``: never, or not before death)."""

    days: dict[str, FloatArray]
    """:data:`LATE_EFFECTS` name -> day per child."""

    def columns(self) -> dict[str, FloatArray]:
        """``late_<name>_day`` -> day per child (the trial columns)."""
        return {column(e): self.days[e] for e in LATE_EFFECTS}


def late_effects(
    ids: IntArray,
    relapse_day: FloatArray,
    hsct_day: FloatArray,
    death_day: FloatArray,
    *,
    seed: int,
    params: LateEffectsParams,
    age_at_diagnosis_years: FloatArray | None = None,
    cache: _draws.ChunkDraws | None = None,
) -> LateEffects:
    """Each child's late-effect days (vectorized; ``inf`` inputs: no such exposure / alive).

    ``relapse_day`` is the first relapse the child is followed through, ``hsct_day`` the
    allogeneic transplant (after the relapse), ``death_day`` the lifetime death day (all in
    days from diagnosis, ``inf`` if none). With ``age_at_diagnosis_years``, growth hormone
    deficiency comes only from exposures before ``growth_hormone_deficiency_max_age_years``
    (without it, no age limit).
    """
    pid = np.asarray(ids, dtype=np.int64)
    r = np.asarray(relapse_day, dtype=np.float64)
    h = np.asarray(hsct_day, dtype=np.float64)
    death = np.asarray(death_day, dtype=np.float64)
    starts = (np.zeros(pid.size), r, h)
    got = (np.ones(pid.size, dtype=bool), np.isfinite(r), np.isfinite(h))
    growing: tuple[NDArray[np.bool_], ...] = got
    if age_at_diagnosis_years is not None:
        age0 = np.asarray(age_at_diagnosis_years, dtype=np.float64)
        limit = params.growth_hormone_deficiency_max_age_years
        growing = tuple(
            ok & (age0 + np.where(ok, s, 0.0) / DAYS_PER_YEAR < limit)
            for s, ok in zip(starts, got, strict=True)
        )
    # the children who received each exposure (None: every child), for each eligibility
    rows = {
        id(m): tuple(None if bool(ok.all()) else np.flatnonzero(ok) for ok in m)
        for m in (got, growing)
    }
    days: dict[str, FloatArray] = {}
    for e in LATE_EFFECTS:
        uw = _draws.uniforms(seed, f"{STREAM}.{e}", pid, k=2, cache=cache)
        u, w = uw[:, 0], uw[:, 1]
        start = np.full(pid.size, np.inf)
        received = growing if e == "growth_hormone_deficiency" else got
        # the earliest exposure with u < p triggers (exposures are in time order)
        for x, s, sel in zip(EXPOSURES[::-1], starts[::-1], rows[id(received)][::-1], strict=True):
            p = params.probability(e, x)
            if p <= 0.0:  # u > 0: never
                continue
            hit = np.flatnonzero(u < p) if sel is None else sel[u[sel] < p]
            start[hit] = s[hit]
        # onset in the window after the exposure, censored at death (inf: no onset)
        a, b = params.window(e)
        on = np.flatnonzero(np.isfinite(start))
        day = start[on] + (a + (b - a) * w[on]) * DAYS_PER_YEAR
        out = np.full(pid.size, np.inf)
        out[on] = np.where(day < death[on], day, np.inf)
        days[e] = out
    return LateEffects(days=days)

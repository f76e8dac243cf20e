"""Outcome sources of the trial engine: the interface, the parametric and the mechanistic.

:mod:`~blinasim.trial.sources.base` is what the engine asks of a source (and the
per-patient random layout), :mod:`~blinasim.trial.sources.parametric` draws from the laws
of a design file, :mod:`~blinasim.trial.sources.mechanistic` runs the patient model;
:func:`outcome_source` picks the one a design names.
"""

from __future__ import annotations

from blinasim.trial.design import ParametricSource, TrialDesign
from blinasim.trial.sources.base import Enrollees, EventTimes, OutcomeSource
from blinasim.trial.sources.mechanistic import MechanisticOutcomes
from blinasim.trial.sources.parametric import ParametricOutcomes


def outcome_source(design: TrialDesign, params: object = None) -> OutcomeSource:
    """The outcome source of a design (parametric, or the mechanistic model adapter).

    ``params`` (a :class:`blinasim.config.ParameterSet`) overrides the mechanistic
    model's parameters; parametric designs ignore it.
    """
    if isinstance(design.outcomes, ParametricSource):
        return ParametricOutcomes(design)
    return MechanisticOutcomes(design, params=params)


__all__ = [
    "Enrollees",
    "EventTimes",
    "MechanisticOutcomes",
    "OutcomeSource",
    "ParametricOutcomes",
    "outcome_source",
]

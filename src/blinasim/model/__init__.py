"""The mechanistic patient model: blinatumomab PK, leukemia kinetics, MRD, toxicity, relapse.

:func:`simulate` runs a cohort through a protocol and returns :class:`Outcomes` (tidy
tables). The building blocks (:mod:`~blinasim.model.pk`, :mod:`~blinasim.model.leukemia`,
:mod:`~blinasim.model.mrd`, :mod:`~blinasim.model.toxicity`,
:mod:`~blinasim.model.after_relapse`) are pure functions on arrays. A research model, not
medical advice.
"""

from blinasim.model.engine import (
    AE_COLUMNS,
    DEFAULT_HORIZON_DAYS,
    PATIENT_COLUMNS,
    ModelParams,
    Outcomes,
    simulate,
)

__all__ = [
    "AE_COLUMNS",
    "DEFAULT_HORIZON_DAYS",
    "PATIENT_COLUMNS",
    "ModelParams",
    "Outcomes",
    "simulate",
]

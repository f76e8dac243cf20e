"""blinasim: in-silico trials of chemotherapy with or without blinatumomab in pediatric B-ALL.

A research model, not medical advice.

The public API is re-exported here. Heavy subpackages (statistics, model, trial) are
imported on first use, so ``import blinasim`` and the command line start quickly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from blinasim._version import __version__
from blinasim.config import Parameter, ParameterSet
from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import BlinasimError, InputError, ParameterError, ProtocolError

if TYPE_CHECKING:
    from blinasim.calibrate import PosteriorEnsemble, load_posterior
    from blinasim.cohort import assign_risk_group, sample_cohort, screen_cohort
    from blinasim.jobs.predict import ChildFacts, Prediction, predict
    from blinasim.model import Outcomes, simulate
    from blinasim.protocol import load_protocol
    from blinasim.stats import (
        cox_ph,
        cumulative_incidence,
        gray_test,
        kaplan_meier,
        km_survival_at_batched,
        logrank_test,
        logrank_test_batched,
        nelson_aalen,
        rmst,
    )

# public name -> module that defines it (imported lazily by __getattr__)
_LAZY = {
    "load_posterior": "blinasim.calibrate",
    "PosteriorEnsemble": "blinasim.calibrate",
    "assign_risk_group": "blinasim.cohort",
    "load_protocol": "blinasim.protocol",
    "Outcomes": "blinasim.model",
    "simulate": "blinasim.model",
    "ChildFacts": "blinasim.jobs.predict",
    "Prediction": "blinasim.jobs.predict",
    "predict": "blinasim.jobs.predict",
    "sample_cohort": "blinasim.cohort",
    "screen_cohort": "blinasim.cohort",
    "cox_ph": "blinasim.stats",
    "cumulative_incidence": "blinasim.stats",
    "gray_test": "blinasim.stats",
    "kaplan_meier": "blinasim.stats",
    "km_survival_at_batched": "blinasim.stats",
    "logrank_test": "blinasim.stats",
    "logrank_test_batched": "blinasim.stats",
    "nelson_aalen": "blinasim.stats",
    "rmst": "blinasim.stats",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'blinasim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DISCLAIMER",
    "BlinasimError",
    "ChildFacts",
    "InputError",
    "Outcomes",
    "Parameter",
    "ParameterError",
    "ParameterSet",
    "PosteriorEnsemble",
    "Prediction",
    "ProtocolError",
    "__version__",
    "assign_risk_group",
    "cox_ph",
    "cumulative_incidence",
    "gray_test",
    "kaplan_meier",
    "km_survival_at_batched",
    "load_posterior",
    "load_protocol",
    "logrank_test",
    "logrank_test_batched",
    "nelson_aalen",
    "predict",
    "rmst",
    "sample_cohort",
    "screen_cohort",
    "simulate",
]

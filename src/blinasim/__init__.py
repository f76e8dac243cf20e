"""blinasim: in-silico trials of chemotherapy with or without blinatumomab in pediatric B-ALL.

A research model, not medical advice.
"""

from blinasim._version import __version__
from blinasim.config import Parameter, ParameterSet
from blinasim.errors import BlinasimError, InputError, ParameterError, ProtocolError
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

__all__ = [
    "BlinasimError",
    "InputError",
    "Parameter",
    "ParameterError",
    "ParameterSet",
    "ProtocolError",
    "__version__",
    "cox_ph",
    "cumulative_incidence",
    "gray_test",
    "kaplan_meier",
    "km_survival_at_batched",
    "logrank_test",
    "logrank_test_batched",
    "nelson_aalen",
    "rmst",
]

"""blinasim: in-silico trials of chemotherapy with or without blinatumomab in pediatric B-ALL.

A research model, not medical advice.
"""

from blinasim._version import __version__
from blinasim.config import Parameter, ParameterSet
from blinasim.errors import BlinasimError, InputError, ParameterError, ProtocolError

__all__ = [
    "BlinasimError",
    "InputError",
    "Parameter",
    "ParameterError",
    "ParameterSet",
    "ProtocolError",
    "__version__",
]

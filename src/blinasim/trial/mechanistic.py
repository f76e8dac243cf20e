"""Former home of the mechanistic outcome source: see :mod:`blinasim.trial.sources.mechanistic`.

Kept only so that callers outside :mod:`blinasim.trial` that still import this path
(``replication/simulate.py`` at the time of the move) keep working; new code imports
:mod:`blinasim.trial.sources.mechanistic` (or :mod:`blinasim.trial`). Delete this module
once no caller is left (``grep -rn "blinasim.trial.mechanistic" src tests``).
"""

from __future__ import annotations

from blinasim.trial.sources.mechanistic import (
    MechanisticOutcomes,
    check_protocol_placement,
    content_digest,
    simulate_children,
)

__all__ = [
    "MechanisticOutcomes",
    "check_protocol_placement",
    "content_digest",
    "simulate_children",
]

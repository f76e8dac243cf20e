"""A deterministic toy simulator for the validation tests (tests only, never a result).

Values are smooth functions of the posterior's first two free parameters, ``a`` and ``b``,
scaled so that a toy posterior with ``a, b`` near 0.5 puts ``toy_held_in`` on its published
value and ``toy_held_miss`` far from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from blinasim.calibrate.summaries import SummaryValue


class ValidateToySimulator:
    """Summaries of four of the toy targets (the others have no simulated counterpart)."""

    def __init__(self, config: Any) -> None:
        self.keys = tuple(config.free_parameters[:2])
        self.n = int(config.simulation.n_patients)
        self.seed = int(config.seed)
        # as the model's simulator does: the config's target lists must match the roles
        self.ids = config.load_targets().ids()

    def __call__(self, values: Mapping[str, float]) -> dict[str, SummaryValue]:
        a, b = (values[k] for k in self.keys)
        return {
            "toy_fit": SummaryValue(0.62 + 0.01 * (a - 0.5), 0.001, self.n),
            "toy_held_in": SummaryValue(0.20 + 0.01 * (b - 0.5), 0.001, self.n),
            "toy_held_miss": SummaryValue(0.50 + 0.01 * a, 0.001, self.n),
            "toy_derived": SummaryValue(0.40 + 0.01 * b, 0.001, self.n),
        }

"""Simulating one trial: its patients, its looks and what it produces.

Trial ``r`` of :func:`blinasim.trial.operating.replicate` with root ``seed`` is
``run_trial(design, seed=seed, replicate=r)``: the same patients
(:func:`~blinasim.trial.patients.simulate_patients`) and the same monitoring
(:func:`~blinasim.trial.looks.evaluate_block` on a block of one trial), plus the
patient-level result (:func:`~blinasim.trial.result.trial_result`).
"""

from __future__ import annotations

from typing import Any

from blinasim.trial.design import TrialDesign
from blinasim.trial.looks import BoundaryCache, evaluate_block
from blinasim.trial.patients import simulate_patients, stack_patients
from blinasim.trial.result import TrialResult, trial_result
from blinasim.trial.sources import OutcomeSource, outcome_source


def run_trial(
    design: TrialDesign,
    *,
    seed: int,
    params: Any = None,
    replicate: int = 0,
    source: OutcomeSource | None = None,
) -> TrialResult:
    """Simulate one trial: looks, decision, CONSORT flow and ADaM ADTTE data.

    ``params`` is passed to the outcome source (a parameter set for the mechanistic
    model; ignored by parametric designs). ``replicate`` selects the trial among those
    of :func:`blinasim.trial.replicate` with the same seed. ``source`` (default: the
    design's, built with ``params``) lets a caller keep the outcome source to inspect
    afterwards. The estimates are made from the ADTTE when first asked for
    (:attr:`TrialResult.estimates`).
    """
    if source is None:
        source = outcome_source(design, params)
    pts = simulate_patients(design, source, seed=seed, replicate=replicate)
    cache = BoundaryCache(design)
    out = evaluate_block(design, stack_patients([pts]), cache)
    return trial_result(design, seed, pts, out, cache)


__all__ = ["run_trial"]

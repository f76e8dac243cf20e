"""Calibration of the mechanistic model to published AALL1731 results.

Targets (:mod:`~blinasim.calibrate.targets`), their simulated counterparts
(:mod:`~blinasim.calibrate.summaries`), a synthetic likelihood with priors
(:mod:`~blinasim.calibrate.likelihood`), emcee sampling with checkpoints
(:mod:`~blinasim.calibrate.sampler`) and the shipped posterior ensemble
(:func:`load_posterior`), which simulations use to carry parameter uncertainty.
"""

from blinasim.calibrate.config import CalibrationConfig, load_config
from blinasim.calibrate.ensemble import PosteriorEnsemble, load_posterior, save_posterior
from blinasim.calibrate.targets import Target, TargetSet, load_targets

__all__ = [
    "CalibrationConfig",
    "PosteriorEnsemble",
    "Target",
    "TargetSet",
    "load_config",
    "load_posterior",
    "load_targets",
    "save_posterior",
]

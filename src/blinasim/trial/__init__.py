"""Trial engine: trial designs as data, group-sequential monitoring, simulation, replication.

A research model, not medical advice.
"""

from blinasim.trial.design import TrialDesign, design_from_dict, load_design, shipped_designs
from blinasim.trial.monitoring import (
    ExitProbabilities,
    GroupSequentialDesign,
    exit_probabilities,
    group_sequential_design,
    spending_function,
)
from blinasim.trial.replicate import OperatingCharacteristics, replicate
from blinasim.trial.run import Consort, Estimates, LookResult, TrialResult, run_trial
from blinasim.trial.sources import (
    Enrollees,
    EventTimes,
    MechanisticOutcomes,
    OutcomeSource,
    ParametricOutcomes,
    outcome_source,
)

__all__ = [
    "Consort",
    "Enrollees",
    "Estimates",
    "EventTimes",
    "ExitProbabilities",
    "GroupSequentialDesign",
    "LookResult",
    "MechanisticOutcomes",
    "OperatingCharacteristics",
    "OutcomeSource",
    "ParametricOutcomes",
    "TrialDesign",
    "TrialResult",
    "design_from_dict",
    "exit_probabilities",
    "group_sequential_design",
    "load_design",
    "outcome_source",
    "replicate",
    "run_trial",
    "shipped_designs",
    "spending_function",
]

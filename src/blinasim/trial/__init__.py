"""Trial engine: trial designs as data, group-sequential monitoring, simulation, replication.

Layers, bottom to top: ``units``, ``laws`` and ``design`` (the design file schema);
``accrual``, ``randomization``, ``monitoring`` (boundaries); ``sources`` (where event
times come from: ``base``, ``parametric``, ``mechanistic``); ``patients`` (the patients
of simulated trials); ``looks`` (schedule, decisions, crossover, batched report);
``estimates`` and ``result`` (what one trial produces); ``run`` (one trial) and
``operating`` (operating characteristics of many); ``cli``.

A research model, not medical advice.
"""

from blinasim.trial.design import TrialDesign, design_from_dict, load_design, shipped_designs
from blinasim.trial.estimates import Estimates
from blinasim.trial.monitoring import (
    ExitProbabilities,
    GroupSequentialDesign,
    exit_probabilities,
    group_sequential_design,
    spending_function,
)
from blinasim.trial.operating import OperatingCharacteristics, replicate
from blinasim.trial.result import Consort, LookResult, TrialResult
from blinasim.trial.run import run_trial
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

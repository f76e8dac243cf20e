"""Trial engine: trial designs as data, group-sequential monitoring, simulation, replication."""

from blinasim.trial.monitoring import (
    ExitProbabilities,
    GroupSequentialDesign,
    exit_probabilities,
    group_sequential_design,
    spending_function,
)

__all__ = [
    "ExitProbabilities",
    "GroupSequentialDesign",
    "exit_probabilities",
    "group_sequential_design",
    "spending_function",
]

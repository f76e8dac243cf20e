"""Virtual patients: covariates, body size, AALL1731 eligibility and risk groups."""

from blinasim.cohort.growth import measurement_for_age, mosteller_bsa, zscore_for_age
from blinasim.cohort.risk import (
    GROUPS,
    REASONS,
    STATUSES,
    RiskAssignment,
    RiskRules,
    assign_eoc,
    assign_eoi,
    assign_risk_group,
)
from blinasim.cohort.sample import (
    COLUMNS,
    GENETICS,
    SCREEN_REASONS,
    SUBTYPES,
    CohortParams,
    CohortSample,
    sample_cohort,
    screen_cohort,
)

__all__ = [
    "COLUMNS",
    "GENETICS",
    "GROUPS",
    "REASONS",
    "SCREEN_REASONS",
    "STATUSES",
    "SUBTYPES",
    "CohortParams",
    "CohortSample",
    "RiskAssignment",
    "RiskRules",
    "assign_eoc",
    "assign_eoi",
    "assign_risk_group",
    "measurement_for_age",
    "mosteller_bsa",
    "sample_cohort",
    "screen_cohort",
    "zscore_for_age",
]

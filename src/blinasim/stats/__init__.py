"""Survival statistics: pure functions on arrays returning frozen result records."""

from blinasim.stats.batched import (
    BatchedLogRank,
    BatchedSurvivalAt,
    km_survival_at_batched,
    logrank_test_batched,
)
from blinasim.stats.competing import (
    CIFCurve,
    CIFTimepoints,
    CumulativeIncidence,
    GrayTestResult,
    cumulative_incidence,
    gray_test,
)
from blinasim.stats.cox import ChiSquareTest, CoxResult, cox_ph
from blinasim.stats.finegray import FineGrayFit, FineGrayPrediction, fine_gray
from blinasim.stats.km import (
    KaplanMeier,
    NelsonAalen,
    Quantile,
    SurvivalAt,
    kaplan_meier,
    nelson_aalen,
)
from blinasim.stats.logrank import LogRankResult, logrank_test
from blinasim.stats.rmst import RMSTContrast, RMSTResult, rmst

__all__ = [
    "BatchedLogRank",
    "BatchedSurvivalAt",
    "CIFCurve",
    "CIFTimepoints",
    "ChiSquareTest",
    "CoxResult",
    "CumulativeIncidence",
    "FineGrayFit",
    "FineGrayPrediction",
    "GrayTestResult",
    "KaplanMeier",
    "LogRankResult",
    "NelsonAalen",
    "Quantile",
    "RMSTContrast",
    "RMSTResult",
    "SurvivalAt",
    "cox_ph",
    "cumulative_incidence",
    "fine_gray",
    "gray_test",
    "kaplan_meier",
    "km_survival_at_batched",
    "logrank_test",
    "logrank_test_batched",
    "nelson_aalen",
    "rmst",
]

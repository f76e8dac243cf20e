"""Shared fixtures: one default-parameter simulation reused by the engine tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from blinasim.cohort import sample_cohort
from blinasim.config import ParameterSet
from blinasim.model import engine
from blinasim.model.engine import ModelParams, Outcomes
from blinasim.protocol import load_protocol

N_CHILDREN = 40_000
SEED = 20250107


@pytest.fixture(scope="session")
def params() -> ParameterSet:
    return ParameterSet.load()


@pytest.fixture(scope="session")
def mp(params: ParameterSet) -> ModelParams:
    return ModelParams.from_parameters(params)


@pytest.fixture(scope="session")
def protocol():
    return load_protocol("aall1731")


@pytest.fixture(scope="session")
def cohort() -> pd.DataFrame:
    return sample_cohort(N_CHILDREN, seed=SEED)


@pytest.fixture(scope="session")
def outcomes(cohort: pd.DataFrame, protocol) -> Outcomes:
    return engine.simulate(cohort, protocol, seed=SEED)


def first_event_day(df: pd.DataFrame) -> np.ndarray:
    """Day of the first DFS event (relapse, second malignancy, death); inf if none."""
    cols = ["relapse_day", "second_malignancy_day", "death_day"]
    return df[cols].fillna(np.inf).min(axis=1).to_numpy()


def dfs_at(df: pd.DataFrame, years: float) -> float:
    """Disease-free survival at ``years`` from randomization (no censoring in the model)."""
    t = first_event_day(df) - df["randomization_day"].to_numpy()
    return float(1.0 - np.mean(t <= years * 365.25))


def efs_at(df: pd.DataFrame, years: float) -> float:
    """Event-free survival at ``years`` from diagnosis."""
    return float(1.0 - np.mean(first_event_day(df) <= years * 365.25))

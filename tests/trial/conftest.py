"""Shared trial designs for the tests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from blinasim.trial.design import TrialDesign, design_from_dict


def rpact_design(
    kind: str, hazard_ratio: float, futility: list[float] | None = None
) -> TrialDesign:
    """The event-driven design of scripts/golden/rpact.R (survival cases)."""
    doc: dict[str, Any] = {
        "name": f"rpact_{kind}_{hazard_ratio}",
        "accrual": {
            "start_date": "2020-01-01",
            "process": "uniform",
            "periods": [{"rate_per_month": 40}],
            "target_randomized": 800,
        },
        "population": {"risk_groups": [{"name": "all", "fraction": 1.0}]},
        "allocation": {
            "control": {"id": "C", "label": "Control"},
            "experimental": {"id": "E", "label": "Experimental"},
            "block_sizes": [2, 4],
        },
        "outcomes": {
            "source": "parametric",
            "models": [
                {"arm": "C", "dfs": {"dist": "exponential", "median_years": 5.0}},
                {"arm": "E", "hazard_ratio": hazard_ratio},
            ],
        },
        "loss_to_follow_up": {"rate_per_year": 0.02},
        "analyses": [
            {"name": "interim 1", "events": 100},
            {"name": "interim 2", "events": 150},
            {"name": "final", "events": 200},
        ],
        "monitoring": {"spending": kind, "alpha": 0.025, "sided": 1},
        "primary": {"test": "logrank"},
    }
    if futility is not None:
        doc["monitoring"]["futility"] = {"bounds_z": futility, "binding": False}
    return design_from_dict(doc, file="<rpact test design>")


SMALL: dict[str, Any] = {
    "name": "small",
    "accrual": {
        "start_date": "2021-01-01",
        "periods": [{"months": 6, "rate_per_month": 20}, {"rate_per_month": 40}],
        "target_randomized": 300,
    },
    "population": {
        "risk_groups": [
            {"name": "Fav", "fraction": 0.3, "randomized": False},
            {"name": "Avg", "fraction": 0.4, "randomized_fraction": 0.9, "randomization_day": 30},
            {"name": "High", "fraction": 0.3, "randomized_fraction": 0.8, "randomization_day": 60},
        ]
    },
    "allocation": {
        "control": {"id": "A", "label": "Arm A"},
        "experimental": {"id": "B", "label": "Arm B"},
    },
    "outcomes": {
        "source": "parametric",
        "models": [
            {
                "arm": "A",
                "stratum": "Avg",
                "dfs": {"dist": "exponential", "survival": 0.8, "at_years": 3},
                "death_after_event": 0.5,
            },
            {
                "arm": "A",
                "stratum": "High",
                "dfs": {"dist": "weibull", "shape": 1.3, "scale_years": 10},
            },
            {"arm": "B", "hazard_ratio": 0.5, "death_after_event": 0.3},
        ],
    },
    "loss_to_follow_up": {"rate_per_year": 0.05},
    "analyses": [{"name": "interim", "events": 30}, {"name": "final", "events": 60}],
    "monitoring": {"spending": "asOF", "alpha": 0.025},
    "early_stop": {
        "crossover": {"window_days": {"Avg": 150, "High": 200}},
        "additional_follow_up_days": 180,
    },
}


def small_doc() -> dict[str, Any]:
    """A fresh copy of a small two-stratum design document."""
    return copy.deepcopy(SMALL)


@pytest.fixture
def small_design() -> TrialDesign:
    """A small, fast two-stratum design."""
    return design_from_dict(small_doc(), file="<small>")

"""Group-sequential boundaries against R rpact (tests/golden/rpact_designs.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinasim.errors import InputError
from blinasim.trial.monitoring import (
    drift_for_events,
    exit_probabilities,
    group_sequential_design,
    spending_function,
    z_to_hazard_ratio,
)

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "rpact_designs.json").read_text())
CASES = GOLDEN["designs"]


def _ids(case: dict) -> str:
    fut = (
        ""
        if case["futility_bounds"] is None
        else ("-bind" if case["binding_futility"] else "-nonbind")
    )
    return f"{case['kind']}-{case['sided']}s-K{len(case['information_rates'])}{fut}"


def _design(case: dict):
    return group_sequential_design(
        case["information_rates"],
        alpha=case["alpha"],
        sided=case["sided"],
        kind=case["kind"],
        gamma=case["gamma"],
        delta_wt=case["delta_wt"],
        futility_bounds=case["futility_bounds"],
        binding_futility=case["binding_futility"],
    )


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_boundaries_match_rpact(case: dict) -> None:
    d = _design(case)
    np.testing.assert_allclose(d.critical_values, case["critical_values"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(d.alpha_spent, case["alpha_spent"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(d.stage_levels, case["stage_levels"], atol=1e-6, rtol=0)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_exit_probabilities_match_rpact(case: dict) -> None:
    d = _design(case)
    for ex in case["exits"]:
        ep = d.exit_probabilities(ex["drift"])
        np.testing.assert_allclose(ep.rejection, ex["overall_reject"], atol=1e-6)
        if case["sided"] == 1:
            np.testing.assert_allclose(ep.upper, ex["reject_per_stage"], atol=1e-6)
            if case["futility_bounds"] is not None:
                np.testing.assert_allclose(ep.lower[:-1], ex["futility_per_stage"], atol=1e-6)
                np.testing.assert_allclose(
                    ep.expected_information_rate, ex["average_sample_number"], atol=1e-6
                )
        else:
            np.testing.assert_allclose(ep.upper + ep.lower, ex["reject_per_stage"], atol=1e-6)
            np.testing.assert_allclose(
                ep.expected_information_rate, ex["average_sample_number"], atol=1e-6
            )


def test_single_look_is_fixed_design() -> None:
    d = group_sequential_design([1.0], alpha=0.025)
    assert d.critical_values[0] == pytest.approx(1.959963984540054, abs=1e-9)


def test_spending_functions_reach_alpha_and_increase() -> None:
    t = np.linspace(0.01, 1, 50)
    for kind, gamma in [
        ("asOF", None),
        ("asP", None),
        ("asHSD", -4.0),
        ("asHSD", 0.0),
        ("asKD", 2.0),
    ]:
        s = spending_function(t, 0.025, kind, gamma)
        assert np.all(np.diff(s) > 0)
        assert s[-1] == pytest.approx(0.025, abs=1e-12)


def test_type_one_error_of_boundaries_by_simulation() -> None:
    rng = np.random.default_rng(1)
    t = np.array([0.4, 0.7, 1.0])
    d = group_sequential_design(t, kind="asP")
    inc = rng.standard_normal((200_000, 3)) * np.sqrt(np.diff(np.concatenate([[0], t])))
    z = np.cumsum(inc, axis=1) / np.sqrt(t)
    rej = (z >= d.critical_values).any(axis=1).mean()
    assert abs(rej - 0.025) < 4 * np.sqrt(0.025 * 0.975 / 200_000)


def test_hazard_ratio_conversions() -> None:
    drift = drift_for_events(0.7, 300)
    assert z_to_hazard_ratio(drift, 300) == pytest.approx(0.7)
    ep = exit_probabilities(np.array([1.959964]), np.array([1.0]), drift=drift)
    assert 0.5 < ep.rejection < 0.95


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"information_rates": [0.5, 0.4, 1]}, "information_rates"),
        ({"information_rates": [0.5, 0.9]}, "information_rates"),
        ({"information_rates": [0.5, 1], "alpha": 0.7}, "alpha"),
        ({"information_rates": [0.5, 1], "kind": "asXX"}, "spending"),
        ({"information_rates": [0.5, 1], "kind": "asHSD"}, "gamma"),
        ({"information_rates": [0.5, 1], "futility_bounds": [0, 1]}, "futility_bounds"),
        ({"information_rates": [0.5, 1], "sided": 2, "futility_bounds": [0]}, "futility_bounds"),
    ],
)
def test_bad_designs_raise_input_error(kwargs: dict, field: str) -> None:
    with pytest.raises(InputError, match=field):
        group_sequential_design(**kwargs)


@settings(max_examples=12, deadline=None)
@given(
    gaps=st.lists(st.floats(0.1, 1.0), min_size=1, max_size=3),
    alpha=st.floats(0.005, 0.1),
    kind=st.sampled_from(["asOF", "asP", "asKD", "OF", "P"]),
    sided=st.sampled_from([1, 2]),
)
def test_any_design_spends_exactly_alpha(
    gaps: list[float], alpha: float, kind: str, sided: int
) -> None:
    t = np.cumsum(gaps) / np.sum(gaps)
    d = group_sequential_design(
        t, alpha=alpha, kind=kind, sided=sided, gamma=2.0 if kind == "asKD" else None
    )
    assert np.all(np.isfinite(d.critical_values))
    assert np.all(np.diff(d.alpha_spent) >= -1e-12)
    assert d.exit_probabilities(0.0).rejection == pytest.approx(alpha, abs=1e-7)
    # more drift, more power
    assert d.exit_probabilities(3.0).rejection > d.exit_probabilities(1.0).rejection

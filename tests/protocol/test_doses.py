"""Dose plausibility bounds (data/dose_bounds.yaml) and max_dose caps."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import yaml

from blinasim.errors import ProtocolError
from blinasim.protocol import load_protocol, load_protocol_data
from blinasim.protocol.doses import capped_dose, load_dose_bounds, parse_dose_bounds
from blinasim.protocol.loader import shipped_protocols
from blinasim.protocol.schema import DRUG_ROUTES

SHIPPED = yaml.safe_load(shipped_protocols()["aall1731"].read_text())


def _set(doc: dict, arm: str, phase: int, drug: int, key: str, value: object) -> dict:
    d = copy.deepcopy(doc)
    d["arms"][arm]["phases"][phase]["drugs"][drug][key] = value
    return d


def _drug_index(doc: dict, arm: str, phase: int, drug: str) -> int:
    names = [d["drug"] for d in doc["arms"][arm]["phases"][phase]["drugs"]]
    return names.index(drug)


def test_every_bound_has_a_source_and_every_shipped_dose_is_within_it() -> None:
    bounds = load_dose_bounds()
    assert set(bounds.bounds) == set(DRUG_ROUTES)
    for entries in bounds.bounds.values():
        for b in entries:
            assert len(b.source) > 10
            assert math.isfinite(b.max)
            assert b.max > 0
    for name in shipped_protocols():
        load_protocol(name)  # raises if any shipped dose is out of bounds


@pytest.mark.parametrize(
    ("drug", "value", "match"),
    [
        ("vincristine", 1e6, r"arm FAV, phase induction: vincristine IV: a dose <= 2 mg/m2"),
        ("vincristine", 15, r"got '15 mg/m2'"),
        ("pegaspargase", 25000, r"pegaspargase IV: a dose <= 5000 IU/m2"),
        ("dexamethasone", 60, r"dexamethasone PO: a dose <= 20 mg/m2/day"),
    ],
)
def test_dose_above_its_bound_is_refused(drug: str, value: float, match: str) -> None:
    j = _drug_index(SHIPPED, "FAV", 0, drug)
    doc = _set(SHIPPED, "FAV", 0, j, "dose", value)
    with pytest.raises(ProtocolError, match=match) as info:
        load_protocol_data(doc, origin="bad.yaml")
    msg = str(info.value)
    assert msg.startswith(f"bad.yaml: arms.FAV.phases[0].drugs[{j}].dose:")
    assert "\n" not in msg


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 1e308])
def test_non_finite_or_huge_doses_are_refused(value: float) -> None:
    j = _drug_index(SHIPPED, "FAV", 0, "vincristine")
    with pytest.raises(ProtocolError, match=r"dose"):
        load_protocol_data(_set(SHIPPED, "FAV", 0, j, "dose", value))


def test_set_dose_of_blinatumomab_out_of_bounds_names_arm_phase_and_bound() -> None:
    text = """
name: huge
description: x
source: "assumption: test"
include: {protocol: aall1731, arms: [A, B]}
arms:
  B9:
    extends: B
    edits:
      - set_dose: {drug: blinatumomab, dose: 1.0e+308, source: "assumption: typo"}
"""
    from blinasim.protocol import load_protocol_text

    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text, origin="huge.yaml")
    msg = str(info.value)
    assert msg.startswith("huge.yaml: arms.B9.edits[0].set_dose.dose:")
    assert "arm B9, phase blina1: blinatumomab CIV: a dose <= 30 ug/m2/day" in msg
    assert "1e+308 ug/m2/day" in msg


def test_dose_by_age_is_bounded_too() -> None:
    j = _drug_index(SHIPPED, "FAV", 0, "methotrexate")
    doc = _set(
        SHIPPED,
        "FAV",
        0,
        j,
        "dose_by_age",
        [{"from_age_years": 1, "dose": 8}, {"from_age_years": 3, "dose": 120}],
    )
    with pytest.raises(
        ProtocolError,
        match=r"drugs\[\d\]\.dose_by_age\[1\]\.dose: .*methotrexate IT: a dose <= 15 mg",
    ):
        load_protocol_data(doc)


def test_unit_without_a_bound_is_refused() -> None:
    j = _drug_index(SHIPPED, "FAV", 0, "vincristine")
    doc = _set(SHIPPED, "FAV", 0, j, "unit", "IU/m2")
    with pytest.raises(
        ProtocolError, match=r"a unit with a plausibility bound .*\['mg/m2', 'mg/kg', 'mg'\]"
    ):
        load_protocol_data(doc)


def test_bounds_file_is_validated() -> None:
    with pytest.raises(
        ProtocolError, match=r"drugs.vincristine\[0\].max: expected a positive finite"
    ):
        parse_dose_bounds(
            {
                "reference_child": {"bsa_m2": 0.7, "weight_kg": 17, "source": "assumption: x"},
                "drugs": {"vincristine": [{"unit": "mg/m2", "max": math.inf, "source": "abc"}]},
            },
            "b.yaml",
        )
    with pytest.raises(ProtocolError, match=r"drugs: expected a known drug"):
        parse_dose_bounds(
            {
                "reference_child": {"bsa_m2": 0.7, "weight_kg": 17, "source": "assumption: x"},
                "drugs": {"unobtainium": [{"unit": "mg", "max": 1, "source": "abc"}]},
            },
            "b.yaml",
        )


def test_capped_dose() -> None:
    # vincristine 1.5 mg/m2, max 2 mg: a 1.6 m2 child gets 2 mg = 1.25 mg/m2
    got = capped_dose(1.5, "mg/m2", 2.0, bsa_m2=np.array([0.7, 1.6]), weight_kg=20.0)
    np.testing.assert_allclose(got, [1.5, 1.25])
    assert float(capped_dose(0.1, "mg/kg", 1.0, bsa_m2=1.0, weight_kg=20.0)) == pytest.approx(0.05)
    assert float(capped_dose(20.0, "mg", 15.0, bsa_m2=1.0, weight_kg=20.0)) == 15.0
    assert float(capped_dose(20.0, "mg", None, bsa_m2=1.0, weight_kg=20.0)) == 20.0


def test_dose_intensity_applies_max_dose() -> None:
    p = load_protocol("aall1731")
    ph = p.arm("A").phase("induction")
    # 1.5 mg/m2 x 4 below the cap at the reference child (0.7 m2)
    assert ph.dose_intensity("vincristine").total == pytest.approx(6.0)
    # at 2 m2 the 2 mg cap gives 1 mg/m2 per dose
    assert ph.dose_intensity("vincristine", bsa_m2=2.0).total == pytest.approx(4.0)

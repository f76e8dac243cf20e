"""Protocol placement in the two-arm design, and the bank of simulated children."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from blinasim.config import ParameterSet
from blinasim.errors import ProtocolError
from blinasim.jobs.simulate import design_for
from blinasim.protocol import load_protocol, load_protocol_text
from blinasim.trial.design import design_from_dict, load_design
from blinasim.trial.sources import mechanistic
from blinasim.trial.sources.mechanistic import (
    MechanisticOutcomes,
    check_protocol_placement,
    content_digest,
)

THREE = "src/blinasim/protocol/protocols/examples/aall1731_three_cycles.yaml"


def test_shipped_protocol_fits_the_shipped_design() -> None:
    check_protocol_placement(load_design("aall1731"))
    design_for("aall1731", None)
    design_for("aall1731", "aall1731")


def test_three_cycles_example_is_refused_naming_the_arms_and_strata() -> None:
    with pytest.raises(ProtocolError) as info:
        design_for("aall1731", THREE)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{THREE}: arms: expected")
    assert "arms B3, B5 have no place" in msg
    assert "blinasim compare" in msg
    assert "no arm C for trial arm chemo in SR-High" in msg
    assert "no arm D for trial arm blina in SR-High" in msg
    assert "no arm for SR-Favorable" in msg
    # the outcome source refuses it too (a trial run never silently drops arms)
    d = design_for("aall1731", None)
    src = d.outcomes.model_copy(update={"protocol": THREE})
    with pytest.raises(ProtocolError, match="B3, B5"):
        MechanisticOutcomes(d.model_copy(update={"outcomes": src}))


def _variant(extra: str) -> str:
    return (
        "name: v\ndescription: x\nsource: 'assumption: test'\n"
        "include: {protocol: aall1731}\narms:\n" + extra
    )


def test_one_extra_arm_is_refused() -> None:
    text = _variant(
        "  B5:\n    extends: B\n    edits:\n"
        "      - set_dose: {drug: blinatumomab, dose: 5, source: 'assumption: low'}\n"
    )
    proto = load_protocol_text(text, origin="v.yaml")
    with pytest.raises(ProtocolError, match=r"^v\.yaml: arms: .*arm B5 has no place"):
        check_protocol_placement(load_design("aall1731"), proto)


def test_mapped_arm_in_the_wrong_stratum_is_refused() -> None:
    doc = load_design("aall1731").model_dump(mode="json")
    doc["outcomes"]["arms"]["chemo"]["SR-High"] = "A"
    d = design_from_dict(doc, file="<d>")
    with pytest.raises(
        ProtocolError, match=r"arm A \(trial arm chemo in SR-High\) serves SR-Average"
    ):
        check_protocol_placement(d, load_protocol("aall1731"))


def test_a_second_unrandomized_arm_is_refused() -> None:
    text = _variant("  FAV2:\n    extends: FAV\n")
    with pytest.raises(ProtocolError, match="arms FAV, FAV2 have no place"):
        check_protocol_placement(load_design("aall1731"), load_protocol_text(text))


def _bank_design():
    doc = load_design("aall1731").model_dump(mode="json")
    doc["outcomes"]["bank_size"] = 1000
    return design_from_dict(doc, file="<bank design>")


def test_content_digest() -> None:
    ps = ParameterSet.load()
    proto = load_protocol("aall1731")
    same = ParameterSet.load()
    other = ps.with_values(
        {"chemo.kill_maintenance_per_day": 0.5 * ps.value("chemo.kill_maintenance_per_day")}
    )
    assert content_digest(ps, proto) == content_digest(same, proto)
    assert content_digest(None, proto) == content_digest(ps, proto)
    assert content_digest(other, proto) != content_digest(ps, proto)
    assert content_digest(ps, proto) != content_digest(ps, load_protocol("aall1731_three_cycles"))


def test_different_parameter_sets_never_share_a_bank() -> None:
    assert not hasattr(mechanistic, "_BANKS")  # no module-level cache
    d = _bank_design()
    base = ParameterSet.load()
    k = base.value("chemo.kill_maintenance_per_day")
    first = MechanisticOutcomes(
        d, params=base.with_values({"chemo.kill_maintenance_per_day": 2 * k})
    )
    bank1 = first._bank(7)
    relapse1 = {a: v.copy() for a, v in bank1.relapse.items()}
    del first, bank1
    gc.collect()
    # new parameter sets made after the first is gone (addresses may be reused)
    for factor in (0.25, 0.5):
        ps = base.with_values({"chemo.kill_maintenance_per_day": factor * k})
        src = MechanisticOutcomes(d, params=ps)
        bank = src._bank(7)
        fresh = mechanistic._simulate(
            1000, mechanistic._seed_for(7, "trial.bank.model"), src.protocol, ps, src.horizon_days
        )
        for arm in ("A", "C"):
            np.testing.assert_array_equal(bank.relapse[arm], fresh.relapse[arm])
            assert not np.array_equal(bank.relapse[arm], relapse1[arm], equal_nan=True)
        del src, ps, bank
        gc.collect()


def test_bank_is_bounded_and_reused_within_a_source() -> None:
    src = MechanisticOutcomes(_bank_design())
    a = src._bank(1)
    assert src._bank(1) is a
    src._bank(2)
    assert len(src._banks) == 1

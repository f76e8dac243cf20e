import copy
from pathlib import Path

import pytest
import yaml

from blinasim.errors import ProtocolError
from blinasim.protocol import load_protocol, load_protocol_data, load_protocol_text


def fail(doc, match):
    with pytest.raises(ProtocolError) as info:
        load_protocol_data(doc, origin="t.yaml")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("t.yaml: ")
    assert match in msg, msg
    return msg


def fav_phase(doc, i):
    return doc["arms"]["FAV"]["phases"][i]


def test_valid_round_trip(doc):
    p = load_protocol_data(doc)
    assert p.arm_names == ("FAV", "A", "B", "C", "D", "HR")


def test_negative_dose(doc):
    fav_phase(doc, 0)["drugs"][1]["dose"] = -6
    msg = fail(doc, "arms.FAV.phases[0].drugs[1].dose: expected a number >= 0")
    assert msg.endswith("got -6")


def test_unknown_unit_drug_route(doc):
    d = copy.deepcopy(doc)
    fav_phase(d, 0)["drugs"][2]["unit"] = "mg/m3"
    fail(d, "arms.FAV.phases[0].drugs[2].unit: expected one of 'mg/m2'")
    d = copy.deepcopy(doc)
    fav_phase(d, 1)["drugs"][0]["drug"] = "aspirin"
    fail(d, "arms.FAV.phases[1].drugs[0].drug: expected one of 'vincristine'")
    d = copy.deepcopy(doc)
    fav_phase(d, 0)["drugs"][2]["route"] = "IT"  # intrathecal vincristine
    fail(d, "arms.FAV.phases[0].drugs[2]: expected route of vincristine one of ['IV']")


def test_lengths(doc):
    d = copy.deepcopy(doc)
    fav_phase(d, 1)["length_days"] = 0
    fail(d, "arms.FAV.phases[1].length_days: expected a number > 0")
    d = copy.deepcopy(doc)
    del fav_phase(d, 1)["length_days"]
    fail(d, "arms.FAV.phases[1]: expected exactly one of 'length_days' or 'ends'")
    d = copy.deepcopy(doc)
    fav_phase(d, 1)["drugs"][0]["days"] = "1-40"
    fail(d, "arms.FAV.phases[1].drugs[0].days: expected days within the phase (1..28)")
    d = copy.deepcopy(doc)
    fav_phase(d, 4)["ends"]["days"] = 100  # maintenance would end before it starts
    fail(d, "arms.FAV.phases[4].ends.days: expected an end after the phase's start (day 168)")
    d = copy.deepcopy(doc)
    fav_phase(d, 4)["drugs"][0]["days"] = "1-90"  # beyond the 84-day cycle
    fail(d, "arms.FAV.phases[4].drugs[0].days: expected days within the cycle (1..84)")
    d = copy.deepcopy(doc)
    fav_phase(d, 1)["drugs"][0]["days"] = "28-1"
    fail(d, "arms.FAV.phases[1].drugs[0].days: expected days within 1..3650")


def test_unique_names_and_unknown_keys(doc):
    d = copy.deepcopy(doc)
    fav_phase(d, 4)["name"] = "DI"
    fail(d, "arms.FAV.phases[4].name: expected a phase name unique within arm FAV")
    d = copy.deepcopy(doc)
    fav_phase(d, 2)["lenght_days"] = 3
    msg = fail(d, "arms.FAV.phases[2].lenght_days: expected no unknown field")
    assert "lenght_days" in msg
    d = copy.deepcopy(doc)
    del fav_phase(d, 0)["drugs"][0]["source"]
    fail(d, "arms.FAV.phases[0].drugs[0].source: expected this field (it is required)")


def test_cross_references(doc):
    d = copy.deepcopy(doc)
    d["arms"]["B"]["extends"] = "Q"
    fail(d, "arms.B.extends: expected an arm of this protocol")
    d = copy.deepcopy(doc)
    d["arms"]["A"]["extends"] = "D"  # A -> D -> B -> A
    fail(d, "extends: expected arms that do not extend themselves")
    d = copy.deepcopy(doc)
    fav_phase(d, 4)["ends"]["days_after_start_of"] = "IM7"
    fail(d, "arms.FAV.phases[4].ends.days_after_start_of: expected an earlier phase of arm FAV")
    d = copy.deepcopy(doc)
    d["arms"]["A"]["randomized_after"] = "induktion"
    fail(d, "arms.A.randomized_after: expected a phase of arm A")
    d = copy.deepcopy(doc)
    d["arms"]["B"]["edits"][0]["insert_after"] = "nope"
    fail(d, "arms.B.edits[0].insert_after: expected a phase of the arm being extended")
    d = copy.deepcopy(doc)
    d["arms"]["B"]["edits"].append(
        {"set_dose": {"drug": "daunorubicin", "dose": 1, "source": "assumption: x"}}
    )
    fail(d, "arms.B.edits[2].set_dose.drug: expected a drug given in the arm")
    d = copy.deepcopy(doc)
    d["arms"]["B"]["edits"][0]["remove"] = "DI"
    fail(d, "arms.B.edits[0]: expected exactly one of insert_after")
    d = copy.deepcopy(doc)
    del d["arms"]["FAV"]["randomized_after"]
    fail(d, "arms.FAV: expected 'randomized_after' (a phase name, or null)")


def test_continuous_and_include_errors(doc):
    d = copy.deepcopy(doc)
    blina = d["arms"]["B"]["edits"][0]["phases"][0]["drugs"][0]
    blina["route"] = "IV"
    fail(d, "arms.B.edits[0].phases[0].drugs[0]: expected route of blinatumomab one of ['CIV']")
    d = copy.deepcopy(doc)
    d["include"] = "no_such_protocol"
    fail(d, "include.protocol: expected a shipped protocol name")
    fail(
        {
            "name": "x",
            "description": "x",
            "source": "assumption: x",
            "include": {"protocol": "aall1731", "arms": ["Z"]},
        },
        "include.arms[0]: expected an arm of aall1731",
    )
    fail(
        {"name": "x", "description": "x", "source": "assumption: x"},
        "arms: expected at least one arm",
    )


def test_yaml_errors(tmp_path):
    with pytest.raises(ProtocolError, match=r"<string>: line \d+: expected valid YAML"):
        load_protocol_text("name: [unclosed\n")
    with pytest.raises(ProtocolError, match=r"expected a YAML mapping"):
        load_protocol_text("- 1\n- 2\n")
    with pytest.raises(ProtocolError, match=r"expected valid YAML"):
        load_protocol_text("a: 2020-02-30\n")
    with pytest.raises(ProtocolError, match="expected a shipped protocol name"):
        load_protocol("nope")
    with pytest.raises(ProtocolError, match="expected an existing protocol file"):
        load_protocol(tmp_path / "missing.yaml")


def test_variant_example():
    p = load_protocol("aall1731_three_cycles")
    assert p.arm_names == ("A", "B", "B3", "B5")
    b, b3, b5 = p.arm("B"), p.arm("B3"), p.arm("B5")
    assert b3.blinatumomab_days() == 84
    assert b3.phase_names[-2:] == ("blina3", "maintenance")
    # therapy still ends 2 years after the start of IM1: maintenance 35 days shorter
    assert b3.end_day == b.end_day
    assert b3.phase("maintenance").length_days == b.phase("maintenance").length_days - 35
    assert b5.dose_intensity("blinatumomab", "blina1").total == pytest.approx(5 * 28)
    assert b5.phase("blina2").administrations("blinatumomab")[0].provenance == "assumption"
    # the base arm is untouched
    assert b.dose_intensity("blinatumomab", "blina1").total == pytest.approx(15 * 28)
    assert b5.extends == "B"
    assert b5.stratum == "SR-Average"


def test_file_include_by_path_and_inherit_fields(tmp_path: Path):
    (tmp_path / "base.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "base",
                "description": "d",
                "source": "assumption: test",
                "arms": {
                    "X": {
                        "label": "x",
                        "stratum": "SR-Average",
                        "randomized_after": None,
                        "control": True,
                        "phases": [
                            {
                                "name": "p1",
                                "kind": "rest",
                                "length_days": 10,
                                "source": "assumption: t",
                            },
                            {
                                "name": "p2",
                                "kind": "induction",
                                "length_days": 5,
                                "gap_days": 3,
                                "source": "assumption: t",
                                "drugs": [
                                    {
                                        "drug": "vincristine",
                                        "dose": 1.5,
                                        "unit": "mg/m2",
                                        "route": "IV",
                                        "days": [1, 5],
                                        "source": "assumption: t",
                                    }
                                ],
                            },
                        ],
                    }
                },
            }
        )
    )
    (tmp_path / "variant.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "variant",
                "description": "d",
                "source": "assumption: test",
                "include": "base.yaml",
                "arms": {
                    "Y": {"extends": "X", "control": False, "edits": [{"remove": "p1"}]},
                    "X": {
                        "extends": "X",
                        "label": "x2",
                        "edits": [
                            {
                                "insert_before": "p1",
                                "phases": [
                                    {
                                        "name": "p0",
                                        "kind": "rest",
                                        "length_days": 2,
                                        "source": "assumption: t",
                                    }
                                ],
                            }
                        ],
                    },
                },
            }
        )
    )
    p = load_protocol(tmp_path / "variant.yaml")
    assert p.arm_names == ("X", "Y")
    x, y = p.arm("X"), p.arm("Y")
    assert x.label == "x2"
    assert x.phase_names == ("p0", "p1", "p2")
    assert x.phase("p2").start_day == 2 + 10 + 3
    assert x.phase_at(12.5) is None  # in the gap
    # a local arm of the same name replaces the included one, also as a base
    assert y.label == "x2"
    assert not y.control
    assert y.phase_names == ("p0", "p2")
    assert y.phase("p2").start_day == 2 + 3
    assert y.phase("p2").drug_days("vincristine").tolist() == [5, 9]
    # include cycles are caught
    (tmp_path / "loop.yaml").write_text(
        "name: loop\ndescription: d\nsource: 'assumption: t'\ninclude: loop.yaml\n"
    )
    with pytest.raises(
        ProtocolError, match=r"include\.protocol: expected an include chain without cycles"
    ):
        load_protocol(tmp_path / "loop.yaml")


def test_duplicate_keys_are_errors_but_merge_overrides_are_not():
    with pytest.raises(
        ProtocolError, match=r"line 2: expected valid YAML \(found duplicate key 'name'\)"
    ):
        load_protocol_text("name: a\nname: b\n")
    # arm C of the shipped file overrides merged keys (<<: *IM1, name: IM2): allowed
    assert load_protocol("aall1731").arm("C").phase("IM2").kind == "interim_maintenance"


def test_age_based_intrathecal_doses(doc):
    import numpy as np

    arm = load_protocol("aall1731").arm("A")
    (it_mtx,) = arm.phase("consolidation").administrations("methotrexate", "IT")
    assert it_mtx.dose_for_age(np.array([1.0, 1.99, 2.0, 3.5, 8.99, 9.0, 12.0])).tolist() == [
        8,
        8,
        10,
        12,
        12,
        15,
        15,
    ]
    (it_ara,) = arm.phase("induction").administrations("cytarabine", "IT")
    assert it_ara.dose_for_age(np.array([0.5, 1.5, 2.5, 4.0])).tolist() == [30, 30, 50, 70]
    (vcr,) = arm.phase("consolidation").administrations("vincristine")
    assert vcr.dose_for_age(np.array([3.0])).tolist() == [1.5]
    d = copy.deepcopy(doc)
    fav_phase(d, 1)["drugs"][2]["dose_by_age"] = [
        {"from_age_years": 3, "dose": 12},
        {"from_age_years": 1, "dose": 8},
    ]
    fail(
        d,
        "arms.FAV.phases[1].drugs[2]: expected dose_by_age brackets with increasing from_age_years",
    )
    d = copy.deepcopy(doc)
    fav_phase(d, 1)["drugs"][0]["dose_by_age"] = [{"from_age_years": 1, "dose": 8}]
    fail(d, "arms.FAV.phases[1].drugs[0]: expected dose_by_age only with a flat unit (mg)")

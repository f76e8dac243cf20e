import numpy as np
import pytest

from blinasim.protocol import load_protocol


@pytest.fixture(scope="module")
def proto():
    return load_protocol("aall1731")


def test_arms_and_strata(proto):
    assert proto.arm_names == ("FAV", "A", "B", "C", "D", "HR")
    assert [a.name for a in proto.arms_for("SR-Average")] == ["A", "B"]
    assert [a.name for a in proto.arms_for("SR-High")] == ["C", "D"]
    assert [a.name for a in proto.arms_for("SR-Favorable")] == ["FAV"]
    assert proto.arms_for("SR-Unknown") == ()
    # the high-risk stand-in for children who leave the trial: never randomized
    assert [a.name for a in proto.arms_for("off-study")] == ["HR"]
    assert proto.arm("HR").randomized_after is None
    assert not proto.arm("HR").control
    assert proto.arm("HR").phase("IM1").kind == "interim_maintenance"
    assert proto.arm("A").control
    assert not proto.arm("B").control
    assert proto.arm("FAV").randomized_after is None
    assert proto.arm("A").randomization_day == 56  # SR-Average, like SR-High, after consolidation
    assert proto.arm("D").randomization_day == 56


def test_blinatumomab_cycles_where_the_trial_put_them(proto):
    for name in ("B", "D"):
        arm = proto.arm(name)
        assert arm.phase_names == (
            "induction",
            "consolidation",
            "blina1",
            "IM1",
            "blina2",
            "DI",
            "maintenance",
        )
        assert arm.blinatumomab_days() == 56
        for blina in arm.phases_of_kind("blinatumomab"):
            assert blina.length_days == 35
            (admin,) = blina.administrations("blinatumomab")
            assert admin.dose == 15
            assert admin.unit == "ug/m2/day"
            assert admin.route == "CIV"
            assert admin.continuous == (1, 28)
            assert len(blina.drug_days("blinatumomab")) == 28
    for name in ("FAV", "A", "C"):
        assert proto.arm(name).blinatumomab_days() == 0
    assert proto.arm("C").phase_names == (
        "induction",
        "consolidation",
        "IM1",
        "DI",
        "IM2",
        "DI2",
        "maintenance",
    )


def test_two_years_from_start_of_im1(proto):
    for arm in proto.arms.values():
        im1 = arm.phase("IM1")
        assert arm.end_day == im1.start_day + 730
        assert arm.phases[-1].kind == "maintenance"
        tl = arm.timeline()
        assert tl["start_day"].iloc[0] == 0
        assert (tl["start_day"].iloc[1:].to_numpy() == tl["end_day"].iloc[:-1].to_numpy()).all()
        assert (tl["length_days"] > 0).all()


def test_every_value_has_provenance(proto):
    for arm in proto.arms.values():
        for phase in arm.phases:
            assert phase.provenance in {"published", "assumption"}
            for d in phase.drugs:
                assert d.provenance in {"published", "assumption"}
                assert len(d.source) > 10


def test_queries(proto):
    b = proto.arm("B")
    assert b.phase_at(0).name == "induction"
    assert b.phase_at(27.9).name == "induction"
    assert b.phase_at(28).name == "consolidation"
    assert b.phase_at(60).name == "blina1"
    assert b.phase_at(-1) is None
    assert b.phase_at(b.end_day) is None
    idx = b.phase_index_at(np.array([-5, 0, 28, 60, 820, 821, 5000]))
    assert idx.tolist() == [-1, 0, 1, 2, 6, -1, -1]
    di = b.dose_intensity("blinatumomab", "blina1")
    assert di.total == pytest.approx(15 * 28)
    assert di.per_day == pytest.approx(15 * 28 / 35)
    assert di.total_unit == "ug/m2"
    assert di.days_given == 28
    vcr = b.dose_intensity("vincristine", "induction")
    assert vcr.total == pytest.approx(6.0)
    with pytest.raises(ValueError, match="pass route"):
        b.dose_intensity("methotrexate", "IM1")
    mtx = b.dose_intensity("methotrexate", "IM1", route="IV")
    assert mtx.total == pytest.approx(100 + 150 + 200 + 250 + 300)
    with pytest.raises(KeyError, match="no phase"):
        b.phase("nope")
    with pytest.raises(KeyError, match="no arm"):
        proto.arm("Z")


def test_schedule(proto):
    a = proto.arm("A")
    s = a.schedule()
    assert set(s.columns) == {"day", "phase", "kind", "drug", "route", "dose", "unit", "max_dose"}
    assert s["day"].is_monotonic_increasing
    assert s["day"].min() == 0
    assert s["day"].max() < a.end_day
    # maintenance: mercaptopurine every day, weekly oral methotrexate, 12-weekly vincristine
    m = a.phase("maintenance")
    mp = s[(s["drug"] == "mercaptopurine") & (s["phase"] == "maintenance")]
    assert len(mp) == m.length_days
    vcr = s[(s["drug"] == "vincristine") & (s["phase"] == "maintenance")]["day"].to_numpy()
    assert (np.diff(vcr) == 84).all()
    assert vcr[0] == m.start_day

import dataclasses

import numpy as np
import pandas as pd
import pytest

from blinasim.cohort import sample_cohort
from blinasim.cohort.risk import (
    GROUPS,
    REASONS,
    RiskRules,
    assign_eoc,
    assign_eoi,
    assign_risk_group,
)
from blinasim.config import ParameterSet
from blinasim.errors import InputError, ParameterError

NAN = float("nan")

# one row per EOI branch: covariates, readouts, expected (stratum, status, reason)
CASES = [
    # genetics, cns, ds, day8, flow, hts, hts_ind -> stratum, status, reason
    (
        "favorable",
        "CNS1",
        False,
        0.001,
        NAN,
        0.0,
        False,
        "off-study",
        "off-study",
        "EOI flow MRD missing",
    ),
    (
        "favorable",
        "CNS1",
        False,
        0.001,
        0.2,
        0.2,
        False,
        "off-study",
        "off-study",
        "induction failure",
    ),
    (
        "unfavorable",
        "CNS1",
        False,
        0.001,
        0.0,
        0.0,
        False,
        "SR-High",
        "pending-EOC",
        "unfavorable genetics",
    ),
    (
        "favorable",
        "CNS1",
        False,
        0.001,
        1e-3,
        1e-3,
        False,
        "SR-High",
        "pending-EOC",
        "EOI flow MRD >= 0.01%",
    ),
    (
        "neutral",
        "CNS1",
        False,
        0.001,
        1e-4,
        1e-4,
        False,
        "SR-High",
        "pending-EOC",
        "EOI flow MRD >= 0.01%",
    ),
    (
        "neutral",
        "CNS2",
        False,
        0.001,
        0.0,
        0.0,
        False,
        "SR-High",
        "pending-EOC",
        "CNS2, neutral genetics",
    ),
    (
        "favorable",
        "CNS2",
        False,
        0.001,
        0.0,
        0.0,
        False,
        "SR-Average",
        "randomized",
        "CNS2, favorable genetics",
    ),
    (
        "neutral",
        "CNS1",
        False,
        0.001,
        0.0,
        0.0,
        False,
        "SR-Favorable",
        "assigned",
        "neutral genetics, CNS1, EOI MRD negative by flow and HTS",
    ),
    (
        "neutral",
        "CNS1",
        False,
        0.001,
        9e-5,
        5e-5,
        False,
        "SR-Average",
        "randomized",
        "EOI HTS MRD detectable",
    ),
    (
        "neutral",
        "CNS1",
        False,
        0.001,
        0.0,
        NAN,
        True,
        "SR-Average",
        "randomized",
        "EOI HTS MRD indeterminate",
    ),
    (
        "neutral",
        "CNS1",
        True,
        0.001,
        0.0,
        0.0,
        False,
        "SR-Average",
        "randomized",
        "Down syndrome",
    ),
    (
        "favorable",
        "CNS1",
        True,
        0.001,
        0.0,
        0.0,
        False,
        "SR-Average",
        "randomized",
        "Down syndrome",
    ),
    (
        "favorable",
        "CNS1",
        False,
        0.05,
        0.0,
        0.0,
        False,
        "SR-Average",
        "randomized",
        "day-8 blood MRD >= 1%",
    ),
    (
        "favorable",
        "CNS1",
        False,
        0.001,
        0.0,
        NAN,
        True,
        "SR-Average",
        "randomized",
        "EOI HTS MRD indeterminate",
    ),
    (
        "favorable",
        "CNS1",
        False,
        0.001,
        0.0,
        NAN,
        False,
        "SR-Average",
        "randomized",
        "EOI HTS MRD indeterminate",
    ),
    (
        "favorable",
        "CNS1",
        False,
        0.001,
        0.0,
        2e-6,
        False,
        "SR-Average",
        "randomized",
        "EOI HTS MRD detectable",
    ),
    (
        "favorable",
        "CNS1",
        False,
        0.001,
        0.0,
        0.0,
        False,
        "SR-Favorable",
        "assigned",
        "favorable genetics, CNS1, EOI MRD negative by flow and HTS",
    ),
    (
        "favorable",
        "CNS1",
        False,
        NAN,
        0.0,
        5e-7,
        False,
        "SR-Favorable",
        "assigned",
        "favorable genetics, CNS1, EOI MRD negative by flow and HTS",
    ),
]


def _frame(cases):
    cols = list(zip(*cases, strict=True))
    cov = pd.DataFrame({"genetics": cols[0], "cns_status": cols[1], "down_syndrome": cols[2]})
    return (
        cov,
        dict(
            day8_pb_mrd=np.array(cols[3]),
            eoi_flow_mrd=np.array(cols[4]),
            eoi_hts_mrd=np.array(cols[5]),
            eoi_hts_indeterminate=np.array(cols[6]),
        ),
        cols,
    )


def test_every_eoi_branch():
    cov, mrd, cols = _frame(CASES)
    res = assign_eoi(cov, **mrd)
    f = res.to_frame()
    assert res.step == "EOI"
    for i in range(len(CASES)):
        assert (f["stratum"][i], f["status"][i], f["reason"][i]) == (
            cols[7][i],
            cols[8][i],
            cols[9][i],
        ), i
    assert (f["group"] == f["stratum"]).all()
    assert (f["randomized"] == (f["status"] == "randomized")).all()
    # every EOI reason is exercised
    assert set(f["reason"]) == set(REASONS[:-2])  # the EOI reasons (the last two are EOC)


def test_eoc_branches():
    cov = pd.DataFrame(
        {
            "genetics": [
                "unfavorable",
                "unfavorable",
                "unfavorable",
                "neutral",
                "favorable",
                "favorable",
            ],
            "cns_status": ["CNS1"] * 6,
            "down_syndrome": [False] * 6,
        }
    )
    flow = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.3])
    hts = np.array([0.0, 0.0, 0.0, 1e-5, 0.0, 0.0])
    eoc = np.array([5e-4, 1e-3, NAN, 0.5, 0.5, 0.5])
    eoi = assign_eoi(cov, eoi_flow_mrd=flow, eoi_hts_mrd=hts)
    res = assign_eoc(eoi, eoc_flow_mrd=eoc)
    f = res.to_frame()
    assert res.step == "EOC"
    assert list(f["group"]) == [
        "SR-High",
        "off-study",
        "off-study",
        "SR-Average",
        "SR-Favorable",
        "off-study",
    ]
    assert list(f["stratum"]) == [
        "SR-High",
        "SR-High",
        "SR-High",
        "SR-Average",
        "SR-Favorable",
        "off-study",
    ]
    assert list(f["status"]) == [
        "randomized",
        "off-study",
        "off-study",
        "randomized",
        "assigned",
        "off-study",
    ]
    assert list(f["reason"])[:3] == [
        "unfavorable genetics",
        "EOC MRD >= 0.1%",
        "EOC flow MRD missing",
    ]
    assert list(f["randomized"]) == [True, False, False, True, False, False]
    with pytest.raises(InputError, match="EOI assignment"):
        assign_eoc(res, eoc_flow_mrd=eoc)
    # assign_risk_group runs both steps
    both = assign_risk_group(cov, eoi_flow_mrd=flow, eoi_hts_mrd=hts, eoc_flow_mrd=eoc)
    pd.testing.assert_frame_equal(both.to_frame(), f)
    only_eoi = assign_risk_group(cov, eoi_flow_mrd=flow, eoi_hts_mrd=hts)
    assert only_eoi.step == "EOI"
    assert list(only_eoi.status)[:3] == ["pending-EOC"] * 3


def test_rules_are_parameters():
    cov, mrd, _ = _frame(CASES)
    base = RiskRules.load()
    # unfavorable genetics off study instead of SR-High
    r = dataclasses.replace(base, unfavorable_genetics_stratum="off-study")
    f = assign_eoi(cov, **mrd, rules=r).to_frame()
    assert f["stratum"][2] == "off-study"
    # CNS2 with neutral genetics as SR-Average
    r = dataclasses.replace(base, cns2_neutral_stratum="SR-Average")
    assert assign_eoi(cov, **mrd, rules=r).to_frame()["stratum"][5] == "SR-Average"
    # HTS not done no longer counts as indeterminate -> SR-Favorable
    r = dataclasses.replace(base, hts_missing_is_indeterminate=False)
    assert assign_eoi(cov, **mrd, rules=r).to_frame()["stratum"][14] == "SR-Favorable"
    # neutral genetics with undetectable HTS MRD randomized as SR-Average
    r = dataclasses.replace(base, neutral_hts_negative_stratum="SR-Average")
    assert assign_eoi(cov, **mrd, rules=r).to_frame()["stratum"][7] == "SR-Average"
    # a stricter induction-failure limit
    r = dataclasses.replace(base, induction_failure_eoi_flow_mrd=1e-3)
    assert assign_eoi(cov, **mrd, rules=r).to_frame()["reason"][3] == "induction failure"
    # through the parameter file
    ps = ParameterSet.load().with_values({"risk_groups.day8_pb_mrd_max_for_favorable": 0.1})
    f = assign_eoi(cov, **mrd, rules=RiskRules.load(ps)).to_frame()
    assert f["stratum"][12] == "SR-Favorable"


def test_bad_rules_and_inputs():
    ps = ParameterSet.load().with_values({"risk_groups.cns2_neutral_stratum": "SR-Medium"})
    with pytest.raises(ParameterError, match=r"risk_groups\.cns2_neutral_stratum: expected one of"):
        RiskRules.load(ps)
    ps = ParameterSet.load().with_values({"risk_groups.eoi_flow_mrd_positive_at": 2.0})
    with pytest.raises(ParameterError, match="fraction"):
        RiskRules.load(ps)
    cov = pd.DataFrame(
        {"genetics": ["favorable"], "cns_status": ["CNS3"], "down_syndrome": [False]}
    )
    with pytest.raises(InputError, match="cns_status"):
        assign_eoi(cov, eoi_flow_mrd=[0.0])
    cov = pd.DataFrame(
        {"genetics": ["favorable"], "cns_status": ["CNS1"], "down_syndrome": [False]}
    )
    with pytest.raises(InputError, match="eoi_flow_mrd"):
        assign_eoi(cov, eoi_flow_mrd=[0.0, 0.1])
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        assign_eoi(cov, eoi_flow_mrd=[1.5])
    with pytest.raises(InputError, match="genetics"):
        assign_eoi({"cns_status": ["CNS1"], "down_syndrome": [False]}, eoi_flow_mrd=[0.0])


def test_works_on_a_sampled_cohort_and_is_vectorized():
    p = sample_cohort(5000, seed=2)
    n = len(p)
    rng = np.random.default_rng(0)
    flow = np.where(rng.random(n) < 0.8, 0.0, 10 ** rng.uniform(-4, -1, n))
    hts = np.where(rng.random(n) < 0.5, 0.0, 10 ** rng.uniform(-6, -4, n))
    res = assign_risk_group(p, eoi_flow_mrd=flow, eoi_hts_mrd=hts, eoc_flow_mrd=np.zeros(n))
    f = res.to_frame()
    assert len(f) == n
    assert set(f["group"].cat.categories) == set(GROUPS)
    assert not f.isna().any().any()
    # the same child gets the same answer alone or in the cohort
    one = assign_risk_group(
        p.iloc[[123]], eoi_flow_mrd=flow[[123]], eoi_hts_mrd=hts[[123]], eoc_flow_mrd=[0.0]
    ).to_frame()
    assert one.iloc[0].to_dict() == f.iloc[123].to_dict()

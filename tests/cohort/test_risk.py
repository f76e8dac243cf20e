"""AALL1731 risk rules: one test per rule (docs/model_v2_risk.md gives each rule's source)."""

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
from blinasim.protocol import load_protocol

NAN = float("nan")
SUBTYPE_OF = {"favorable": "ETV6::RUNX1", "neutral": "other", "unfavorable": "iAMP21"}


def child(
    genetics="neutral",
    *,
    subtype=None,
    cns="CNS1",
    day8=0.001,
    flow=0.0,
    hts=0.0,
    hts_ind=False,
    eoc=0.0,
    rules=None,
    step="EOC",
):
    """Risk assignment of one child (a dict: stratum, group, status, randomized, reason)."""
    cov = pd.DataFrame(
        {
            "genetics": [genetics],
            "genetic_subtype": [subtype or SUBTYPE_OF[genetics]],
            "cns_status": [cns],
            "down_syndrome": [False],
        }
    )
    mrd = dict(
        eoi_flow_mrd=[flow],
        eoi_hts_mrd=[hts],
        eoi_hts_indeterminate=[hts_ind],
        day8_pb_mrd=[day8],
        rules=rules,
    )
    res = (
        assign_eoi(cov, **mrd)
        if step == "EOI"
        else assign_risk_group(cov, **mrd, eoc_flow_mrd=[eoc])
    )
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in res.to_frame().iloc[0].items()}


def rules(**changes):
    return dataclasses.replace(RiskRules.load(), **changes)


# --- off study at EOI ------------------------------------------------------------------


def test_missing_eoi_flow_and_induction_failure_are_off_study():
    assert child(flow=NAN)["reason"] == "EOI flow MRD missing"
    fail = child(flow=0.2, hts=0.2)
    assert (fail["group"], fail["reason"]) == ("off-study", "induction failure")
    assert child(flow=0.049, hts=0.049)["reason"] != "induction failure"


# --- SR-High ----------------------------------------------------------------------------


def test_unfavorable_genetics_make_sr_high():
    r = child("unfavorable", step="EOI")
    assert (r["stratum"], r["status"], r["reason"]) == (
        "SR-High",
        "pending-EOC",
        "unfavorable genetics",
    )


def test_eoi_flow_threshold_is_genotype_specific():
    # double trisomy 4+10: SR-High only from 0.1%; 0.01-0.1% is SR-Average (randomized)
    dt = child("favorable", subtype="DT4_10", flow=5e-4, hts=5e-4)
    assert (dt["stratum"], dt["randomized"]) == ("SR-Average", True)
    assert dt["reason"] == "SR-Average, EOI HTS MRD detectable"
    dt_high = child("favorable", subtype="DT4_10", flow=1e-3, hts=1e-3)
    assert (dt_high["stratum"], dt_high["reason"]) == (
        "SR-High",
        "EOI flow MRD >= 0.1%, double trisomy 4+10",
    )
    # every other genotype: SR-High from 0.01%
    for genetics, subtype in (("favorable", "ETV6::RUNX1"), ("neutral", "other")):
        r = child(genetics, subtype=subtype, flow=1e-4, hts=1e-4)
        assert (r["stratum"], r["reason"]) == ("SR-High", "EOI flow MRD >= 0.01%"), subtype
        assert child(genetics, subtype=subtype, flow=9e-5, hts=9e-5)["stratum"] != "SR-High"
    # the threshold is a parameter
    assert (
        child(
            "favorable", subtype="DT4_10", flow=5e-4, rules=rules(eoi_flow_mrd_high_at_dt4_10=1e-4)
        )["stratum"]
        == "SR-High"
    )


def test_cns2_makes_sr_high_only_with_neutral_genetics():
    assert child("neutral", cns="CNS2")["reason"] == "CNS2, neutral genetics"
    assert child("neutral", cns="CNS2")["stratum"] == "SR-High"
    # favorable genetics with CNS2: the SR-Favorable criteria name no CNS status
    fav = child("favorable", cns="CNS2", hts=1e-5)
    assert (fav["stratum"], fav["status"]) == ("SR-Favorable", "assigned")
    # the old rule (SR-Favorable needs CNS1) is one flag away
    old = child("favorable", cns="CNS2", hts=1e-5, rules=rules(favorable_requires_cns1=True))
    assert (old["stratum"], old["randomized"]) == ("SR-Average", True)


def test_eoc_mrd_decides_sr_high_randomization():
    ok = child("unfavorable", eoc=9.9e-4)
    assert (ok["group"], ok["status"], ok["randomized"]) == ("SR-High", "randomized", True)
    for eoc, why in ((1e-3, "EOC MRD >= 0.1%"), (NAN, "EOC flow MRD missing")):
        off = child("unfavorable", eoc=eoc)
        assert (off["stratum"], off["group"], off["reason"]) == ("SR-High", "off-study", why)
        assert not off["randomized"]


# --- SR-Favorable -----------------------------------------------------------------------


def test_sr_favorable_is_favorable_genetics_with_low_day8_and_eoi_flow_mrd():
    for subtype in ("ETV6::RUNX1", "DT4_10"):
        r = child("favorable", subtype=subtype, day8=0.009, flow=9e-5, hts=9e-5)
        assert (r["stratum"], r["status"], r["randomized"]) == ("SR-Favorable", "assigned", False)
        assert r["reason"] == "favorable genetics, day-8 blood MRD < 1%, EOI MRD < 0.01%"
    # day-8 not done does not exclude, nor does an HTS MRD not done or indeterminate
    assert child("favorable", day8=NAN, hts=NAN, hts_ind=True)["stratum"] == "SR-Favorable"
    # day-8 blood MRD >= 1%: SR-Average
    slow = child("favorable", day8=0.01, hts=1e-5)
    assert (slow["stratum"], slow["randomized"]) == ("SR-Average", True)
    fast = child("favorable", day8=0.01, rules=rules(day8_pb_mrd_max_for_favorable=0.1))
    assert fast["stratum"] == "SR-Favorable"
    # neutral genetics are never SR-Favorable
    assert child("neutral", flow=0.0, hts=0.0)["stratum"] == "SR-Average"


# --- SR-Average ---------------------------------------------------------------------------


def test_hts_threshold_is_genotype_specific():
    # favorable genetics: SR-Favorable below 0.01% by HTS, SR-Average (randomized) from 0.01%
    assert child("favorable", hts=9.9e-5)["stratum"] == "SR-Favorable"
    fav_pos = child("favorable", hts=1e-4)
    assert (fav_pos["stratum"], fav_pos["randomized"]) == ("SR-Average", True)
    assert fav_pos["reason"] == "SR-Average, EOI HTS MRD detectable"
    # neutral genetics: any detectable level (the assay's ~1e-6) randomizes
    assert child("neutral", hts=1e-6)["randomized"]
    # 1.0 reads the ASH 2024 abstract literally: no HTS criterion for SR-Favorable
    literal = child("favorable", hts=1e-3, rules=rules(eoi_hts_mrd_favorable_max=1.0))
    assert literal["stratum"] == "SR-Favorable"


def test_sr_average_hts_undetectable_gets_arm_a_without_randomization():
    # was: neutral genetics, CNS1, HTS undetectable -> SR-Favorable (an invented route)
    r = child("neutral", hts=0.0)
    assert (r["stratum"], r["group"], r["status"], r["randomized"]) == (
        "SR-Average",
        "SR-Average",
        "assigned",
        False,
    )
    assert r["reason"] == "SR-Average, EOI HTS MRD undetectable"
    # the same for a favorable-genetics SR-Average child (day-8 MRD >= 1%)
    assert not child("favorable", day8=0.05, hts=0.0)["randomized"]
    assert child("neutral", rules=rules(hts_negative_sr_average_randomized=True))["randomized"]


def test_sr_average_hts_detectable_or_indeterminate_is_randomized():
    det = child("neutral", hts=1e-6, step="EOI")
    assert (det["stratum"], det["status"], det["reason"]) == (
        "SR-Average",
        "pending-EOC",
        "SR-Average, EOI HTS MRD detectable",
    )
    assert child("neutral", hts=9e-7)["reason"] == "SR-Average, EOI HTS MRD undetectable"
    ind = child("neutral", hts=NAN, hts_ind=True)
    assert (ind["reason"], ind["randomized"]) == ("SR-Average, EOI HTS MRD indeterminate", True)
    # HTS not done counts as indeterminate (a flag)
    assert child("neutral", hts=NAN)["reason"] == "SR-Average, EOI HTS MRD indeterminate"
    undone = child("neutral", hts=NAN, rules=rules(hts_missing_is_indeterminate=False))
    assert undone["reason"] == "SR-Average, EOI HTS MRD undetectable"
    assert not child("neutral", hts_ind=True, rules=rules(hts_indeterminate_randomized=False))[
        "randomized"
    ]


def test_sr_average_is_randomized_after_consolidation_whatever_the_eoc_mrd():
    # at EOI the child waits; at EOC it is randomized with no EOC criterion
    assert child("neutral", hts=1e-5, step="EOI")["randomized"] is False
    for eoc in (0.0, 0.5, NAN):
        r = child("neutral", hts=1e-5, eoc=eoc)
        assert (r["group"], r["status"], r["randomized"]) == ("SR-Average", "randomized", True)
    early = child("neutral", hts=1e-5, step="EOI", rules=rules(sr_average_randomized_at="EOI"))
    assert (early["status"], early["randomized"]) == ("randomized", True)


def test_randomization_step_matches_the_protocol():
    proto = load_protocol("aall1731")
    after = {a.name: a.randomized_after for a in proto.arms.values() if a.stratum != "off-study"}
    # both strata are randomized after consolidation (COG review figure of the AALL1731 schema)
    assert {after[a] for a in ("A", "B", "C", "D")} == {"consolidation"}
    assert after["FAV"] is None
    assert RiskRules.load().sr_average_randomized_at == "EOC"


# --- who is not stratified ------------------------------------------------------------------


def test_down_syndrome_is_refused_and_screened_out():
    cov = pd.DataFrame(
        {
            "genetics": ["neutral"],
            "genetic_subtype": ["other"],
            "cns_status": ["CNS1"],
            "down_syndrome": [True],
        }
    )
    with pytest.raises(InputError, match="DS cohorts"):
        assign_eoi(cov, eoi_flow_mrd=[0.0])
    p = sample_cohort(3000, seed=4)
    assert not p["down_syndrome"].any()


def test_sex_plays_no_part():
    p = sample_cohort(3000, seed=5)
    g = np.random.default_rng(1)
    n = len(p)
    mrd = dict(
        eoi_flow_mrd=np.where(g.random(n) < 0.8, 0.0, 10 ** g.uniform(-4, -1, n)),
        eoi_hts_mrd=np.where(g.random(n) < 0.5, 0.0, 10 ** g.uniform(-6, -4, n)),
        day8_pb_mrd=10 ** g.uniform(-4, -1, n),
        eoc_flow_mrd=10 ** g.uniform(-5, -2, n),
    )
    flipped = p.assign(sex=p["sex"].map({"F": "M", "M": "F"}))
    a = assign_risk_group(p, **mrd).to_frame()
    b = assign_risk_group(flipped, **mrd).to_frame()
    pd.testing.assert_frame_equal(a, b)
    # the rules do not read sex at all
    assert assign_risk_group(p.drop(columns="sex"), **mrd).to_frame().equals(a)


# --- parameters and inputs ------------------------------------------------------------------


def test_bad_rules_and_inputs():
    ps = ParameterSet.load()
    bad = ps.with_values({"risk_groups.cns2_neutral_stratum": "SR-Medium"})
    with pytest.raises(ParameterError, match=r"risk_groups\.cns2_neutral_stratum: expected one of"):
        RiskRules.load(bad)
    with pytest.raises(ParameterError, match="fraction"):
        RiskRules.load(ps.with_values({"risk_groups.eoi_flow_mrd_positive_at": 2.0}))
    with pytest.raises(ParameterError, match="true or false"):
        RiskRules.load(ps.with_values({"risk_groups.favorable_requires_cns1": "no"}))
    with pytest.raises(ParameterError, match="EOI or EOC"):
        RiskRules.load(ps.with_values({"risk_groups.sr_average_randomized_at": "DI"}))
    cov = {"genetics": ["favorable"], "genetic_subtype": ["ETV6::RUNX1"], "down_syndrome": [False]}
    with pytest.raises(InputError, match="cns_status"):
        assign_eoi({**cov, "cns_status": ["CNS3"]}, eoi_flow_mrd=[0.0])
    cov["cns_status"] = ["CNS1"]
    with pytest.raises(InputError, match="eoi_flow_mrd"):
        assign_eoi(cov, eoi_flow_mrd=[0.0, 0.1])
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        assign_eoi(cov, eoi_flow_mrd=[1.5])
    with pytest.raises(InputError, match="genetic_subtype"):
        assign_eoi({**cov, "genetic_subtype": ["t(17;19)"]}, eoi_flow_mrd=[0.0])
    with pytest.raises(InputError, match="genetics"):
        assign_eoi({k: v for k, v in cov.items() if k != "genetics"}, eoi_flow_mrd=[0.0])
    # categorical columns (the cohort's) are checked by the categories in use
    cat = pd.Series(pd.Categorical(["CNS3"], categories=["CNS1", "CNS2", "CNS3"]))
    with pytest.raises(InputError, match="cns_status"):
        assign_eoi({**cov, "cns_status": cat}, eoi_flow_mrd=[0.0])
    unused = pd.Series(pd.Categorical(["CNS1"], categories=["CNS1", "CNS3"]))
    a = assign_eoi({**cov, "cns_status": unused}, eoi_flow_mrd=[0.0])
    assert (
        a.to_frame()["stratum"].tolist()
        == assign_eoi(cov, eoi_flow_mrd=[0.0]).to_frame()["stratum"].tolist()
    )
    missing = pd.Series(pd.Categorical([None], categories=["CNS1"]))
    with pytest.raises(InputError, match="cns_status"):
        assign_eoi({**cov, "cns_status": missing}, eoi_flow_mrd=[0.0])
    eoi = assign_eoi(cov, eoi_flow_mrd=[0.0])
    eoc = assign_eoc(eoi, eoc_flow_mrd=[0.0])
    with pytest.raises(InputError, match="EOI assignment"):
        assign_eoc(eoc, eoc_flow_mrd=[0.0])


def test_every_reason_is_reachable_on_a_sampled_cohort_and_vectorized():
    p = sample_cohort(20_000, seed=2)
    n = len(p)
    g = np.random.default_rng(0)
    flow = np.where(g.random(n) < 0.8, 0.0, 10 ** g.uniform(-4, -0.5, n))
    flow[g.random(n) < 0.01] = NAN
    hts = np.where(g.random(n) < 0.5, 0.0, 10 ** g.uniform(-6, -4, n))
    hts[g.random(n) < 0.05] = NAN
    day8 = 10 ** g.uniform(-4, -1, n)
    eoc = np.where(g.random(n) < 0.9, 10 ** g.uniform(-5, -2, n), NAN)
    res = assign_risk_group(
        p, eoi_flow_mrd=flow, eoi_hts_mrd=hts, day8_pb_mrd=day8, eoc_flow_mrd=eoc
    )
    f = res.to_frame()
    assert len(f) == n
    assert not f.isna().any().any()
    assert set(f["group"].cat.categories) == set(GROUPS)
    assert set(f["reason"]) == set(REASONS)
    # randomized children are SR-Average or SR-High on study; assigned ones are not randomized
    assert f.loc[f["randomized"], "group"].isin(["SR-Average", "SR-High"]).all()
    assert not f.loc[f["status"] == "assigned", "randomized"].any()
    # the same child gets the same answer alone or in the cohort
    i = [123]
    one = assign_risk_group(
        p.iloc[i],
        eoi_flow_mrd=flow[i],
        eoi_hts_mrd=hts[i],
        day8_pb_mrd=day8[i],
        eoc_flow_mrd=eoc[i],
    ).to_frame()
    assert one.iloc[0].to_dict() == f.iloc[123].to_dict()

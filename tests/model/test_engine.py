"""Engine behaviour against published targets (default parameters, statistical tolerances)."""

import numpy as np
import pandas as pd
import pytest

from blinasim.config import ParameterSet
from blinasim.errors import InputError, ParameterError
from blinasim.model import engine
from blinasim.targets import published

from .conftest import SEED, dfs_at, efs_at, first_event_day

YEAR = 365.25


def one_per_child(p: pd.DataFrame) -> pd.DataFrame:
    return p.drop_duplicates("patient_id")


def randomized(p: pd.DataFrame, arms) -> pd.DataFrame:
    return p[p["arm"].isin(arms) & p["randomization_day"].notna()]


def test_tables_have_the_documented_columns(outcomes):
    assert tuple(outcomes.patients.columns) == engine.PATIENT_COLUMNS
    assert tuple(outcomes.adverse_events.columns) == engine.AE_COLUMNS
    p = outcomes.patients
    assert set(p["arm"].dropna()) == {"FAV", "A", "B", "C", "D"}
    assert set(p["relapse_site"].dropna()) <= {"marrow", "cns", "combined"}
    assert set(p["death_cause"].dropna()) <= {
        "treatment-related",
        "leukemia",
        "second malignancy",
        "treatment-related after relapse",
    }
    rel = p["relapse_day"].notna()
    assert (p.loc[rel, "relapse_day"] > 0).all()
    assert (p["death_day"].fillna(np.inf) >= p["relapse_day"].fillna(0)).all()


def test_about_three_quarters_flow_negative_at_end_of_induction(outcomes):
    """~75-80% of NCI SR children are EOI flow-MRD negative (reference section 2)."""
    neg = (one_per_child(outcomes.patients)["eoi_flow"] == 0).mean()
    assert 0.72 <= neg <= 0.84


def test_eoi_mrd_separates_efs_like_borowitz(outcomes):
    """EOI MRD 0.01-0.1% vs negative: 5-y EFS 59 vs 88% (Borowitz 2008, P9900, all risks);
    74 vs 87% on modern high-risk therapy (AALL0232, Borowitz 2015).

    The ratio of 5-year cumulative hazards, ln(EFS_low) / ln(EFS_neg), is 4.1 in P9900 and
    2.2 in AALL0232; the model's SR children on chemotherapy must fall in that range, with
    the MRD-negative group near the published 87-88%. The model's NCI SR children do better
    (~93-94%: a held-out miss, reported by `blinasim validate`): the guard stops at 0.95.
    """
    p = one_per_child(outcomes.patients[outcomes.patients["arm"].isin(["FAV", "A", "C"])])
    neg = p[p["eoi_flow"] == 0]
    low = p[(p["eoi_flow"] >= 1e-4) & (p["eoi_flow"] < 1e-3)]
    assert len(low) > 1000
    e_neg, e_low = efs_at(neg, 5), efs_at(low, 5)
    assert 0.85 <= e_neg <= 0.95
    ratio = np.log(e_low) / np.log(e_neg)
    assert 2.2 <= ratio <= 4.1, (e_neg, e_low, ratio)


def test_chemotherapy_only_sr_outcomes_in_aall0932_range(outcomes):
    """AALL0932 (9,226 NCI SR): 5-y EFS 92%.

    KNOWN GAP: the defaults are fitted to the AALL1731 arms (3-y DFS 90.2% SR-Average, 84.8%
    SR-High on chemotherapy), which with the model's stratum mix imply an all-SR 5-y EFS of
    ~84% (children going off study included, as in an intention-to-treat EFS). The test
    guards that range (0.82-0.95) and that on-study children reach 0.86; closing the gap to
    92% is left to the formal calibration (docs/model.md).
    """
    p = outcomes.patients
    chemo = one_per_child(p[p["arm"].isin(["FAV", "A", "C"]) | p["arm"].isna()])
    assert len(chemo) == p["patient_id"].nunique()
    assert 0.82 <= efs_at(chemo, 5) <= 0.95
    assert efs_at(chemo[chemo["arm"].notna()], 5) >= 0.86
    fav = p[p["arm"] == "FAV"]
    assert efs_at(fav, 5) > 0.93  # the AALL1731 aim for SR-Favorable


def test_three_year_dfs_chemo_vs_blinatumomab(outcomes):
    """AALL1731: 3-y DFS 87.9% (chemo) vs 96.0% (blinatumomab), arms apart from year 1."""
    p = outcomes.patients
    chemo, blina = randomized(p, ["A", "C"]), randomized(p, ["B", "D"])
    assert dfs_at(chemo, 3) == pytest.approx(0.879, abs=0.04)
    assert dfs_at(blina, 3) == pytest.approx(0.960, abs=0.02)
    for years in (1, 2, 3):
        assert dfs_at(blina, years) > dfs_at(chemo, years)
    assert dfs_at(chemo, 1) - dfs_at(chemo, 2) > 0.005  # relapses on therapy, not a plateau
    # by stratum (SE of the published values 1.3-3.8 points; tolerance ~2 SE)
    assert dfs_at(randomized(p, ["A"]), 3) == pytest.approx(0.902, abs=0.05)
    assert dfs_at(randomized(p, ["B"]), 3) == pytest.approx(0.975, abs=0.03)
    assert dfs_at(randomized(p, ["C"]), 3) == pytest.approx(0.848, abs=0.06)
    assert dfs_at(randomized(p, ["D"]), 3) == pytest.approx(0.941, abs=0.05)


def test_cd19_negative_share_of_relapses_after_blinatumomab(outcomes):
    """CD19-negative relapses after blinatumomab: inside the target's range (an assumption,
    5-30%: Braig 2017 counts patients, docs/validation_targets.md), and more common than on
    chemotherapy (antigen loss and selection under blinatumomab)."""
    target = published("cd19neg_share", arm="blinatumomab")
    p = randomized(outcomes.patients, ["B", "D"])
    rel = p[p["relapse_day"].notna()]
    assert len(rel) > 200
    share = rel["relapse_cd19_negative"].mean()
    assert target.low <= share <= target.high
    chemo = randomized(outcomes.patients, ["A", "C"])
    assert chemo.loc[chemo["relapse_day"].notna(), "relapse_cd19_negative"].mean() < share


def test_late_relapses_are_about_half_on_chemotherapy(outcomes):
    """~50% of relapses are >= 36 months from diagnosis (Rheingold 2024): within 2 SE.

    At the posterior medians (the parameter file); the posterior predictive mean is lower
    (~38%, docs/calibration.md): the dormancy rate's posterior is wide and skewed.
    """
    target = published("late_relapse_share", arm="chemotherapy")
    p = randomized(outcomes.patients, ["A", "C"])
    rel = p["relapse_day"].dropna()
    late = np.mean(rel >= 36 * YEAR / 12)
    assert abs(late - target.estimate) <= 2 * target.se, late


def test_late_relapses_are_a_large_share_on_chemotherapy(outcomes):
    """The late share stays in a plausible band whatever the draw (guard)."""
    p = randomized(outcomes.patients, ["A", "C"])
    rel = p["relapse_day"].dropna()
    late = np.mean(rel >= 36 * YEAR / 12)
    assert 0.35 <= late <= 0.56


def test_grade3_adverse_events_close_to_aall1731(outcomes):
    """Patients with >= 1 grade >= 3 event after randomization (NEJM 2025 Table 2)."""
    published = {
        ("A", "febrile_neutropenia"): 149 / 376,
        ("B", "febrile_neutropenia"): 165 / 351,
        ("C", "febrile_neutropenia"): 140 / 277,
        ("D", "febrile_neutropenia"): 156 / 273,
        ("A", "sepsis"): 19 / 376,
        ("B", "sepsis"): 52 / 351,
        ("C", "sepsis"): 47 / 277,
        ("D", "sepsis"): 57 / 273,
        ("A", "cytokine_release_syndrome"): 0.0,
        ("B", "cytokine_release_syndrome"): 1 / 351,
        ("D", "cytokine_release_syndrome"): 1 / 273,
    }
    p = outcomes.patients
    ae = outcomes.adverse_events.merge(
        p[["patient_id", "arm", "randomization_day"]], on=["patient_id", "arm"]
    )
    ae = ae[ae["randomization_day"].notna() & (ae["day"] >= ae["randomization_day"])]
    for (arm, event), target in published.items():
        n = randomized(p, [arm])["patient_id"].nunique()
        hit = ae[(ae["arm"] == arm) & (ae["event"] == event)]["patient_id"].nunique()
        assert hit / n == pytest.approx(target, abs=0.04), (arm, event)
    assert set(outcomes.adverse_events["grade"]) <= {3, 4}


def test_deaths_in_remission_and_second_malignancies_are_competing_events(outcomes):
    p = one_per_child(outcomes.patients[outcomes.patients["arm"].isin(["FAV", "A", "C"])])
    trm = (p["death_cause"] == "treatment-related").mean()
    assert 0.004 <= trm <= 0.02  # ~1-2% in SR (NOPHO, UKALL2003)
    assert p.loc[p["death_cause"] == "treatment-related", "relapse_day"].isna().all()
    smn = p["second_malignancy_day"].notna().mean()
    assert 0.004 <= smn <= 0.02  # 1.18% at 10 y
    os5 = 1 - np.mean(p["death_day"].fillna(np.inf) <= 5 * YEAR)
    assert os5 > efs_at(p, 5)  # OS is an output and exceeds EFS


def test_common_random_numbers_across_arms(outcomes):
    p = outcomes.patients
    a = p[p["arm"] == "A"].set_index("patient_id")
    b = p[p["arm"] == "B"].set_index("patient_id")
    # every child on arm B is on arm A too (arm A also has the SR-Average children with
    # undetectable HTS MRD, who get it without randomization)
    assert b.index.isin(a.index).all()
    a = a.loc[b.index]
    cols = ["risk_group", "risk_reason", "day8_pb_flow", "eoi_flow", "eoi_hts", "eoc_flow"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    # nothing differs before blinatumomab cycle 1 starts (day 56): early events coincide
    ea, eb = first_event_day(a.reset_index()), first_event_day(b.reset_index())
    early = (ea < 56) | (eb < 56)
    np.testing.assert_array_equal(ea[early], eb[early])


def test_bit_identical_across_chunk_sizes_and_forced_arm(cohort, protocol):
    small = cohort.iloc[:3000]
    full = engine.simulate(small, protocol, seed=SEED, chunk_size=3000)
    chunked = engine.simulate(small, protocol, seed=SEED, chunk_size=701)
    pd.testing.assert_frame_equal(full.patients, chunked.patients)
    pd.testing.assert_frame_equal(full.adverse_events, chunked.adverse_events)
    # a subset of children gets the same numbers as in the whole cohort
    sub = engine.simulate(small.iloc[1000:2000], protocol, seed=SEED)
    ids = set(small["patient_id"].iloc[1000:2000])
    expect = full.patients[full.patients["patient_id"].isin(ids)].reset_index(drop=True)
    pd.testing.assert_frame_equal(sub.patients, expect)
    forced = engine.simulate(small, protocol, arm="B", seed=SEED)
    expect_b = full.patients[full.patients["arm"] == "B"].reset_index(drop=True)
    pd.testing.assert_frame_equal(forced.patients, expect_b)
    other = engine.simulate(small, protocol, seed=SEED + 1)
    assert not other.patients["eoi_flow"].equals(full.patients["eoi_flow"])


def test_dose_intensity_is_relative_to_the_reference_protocol(protocol):
    import dataclasses

    from blinasim.model.plan import reference_intensities, relative_intensity

    arms = [protocol.arm(n) for n in protocol.arm_names]
    ref = reference_intensities([a for a in arms if a.control])
    for arm in [a for a in arms if a.stratum != "off-study"]:  # HR: high-dose MTX on purpose
        for ph in arm.phases:
            if ph.kind != "blinatumomab":  # same drugs; maintenance length differs a little
                assert relative_intensity(ph, ref) == pytest.approx(1.0, abs=0.05)
    maint = protocol.arm("A").phase("maintenance")
    half = dataclasses.replace(
        maint,
        drugs=tuple(
            dataclasses.replace(d, dose=d.dose / 2) if d.drug == "mercaptopurine" else d
            for d in maint.drugs
        ),
    )
    # drug-class Emax (docs/model_v2_chemo.md): half the thiopurine keeps E(0.5)/E(1) of its share
    cp = engine.ModelParams.from_parameters().chemo
    e_half = 0.5 * (1 + cp.x50_thiopurine) / (0.5 + cp.x50_thiopurine)
    assert relative_intensity(half, ref) == pytest.approx(
        1 - cp.share_maintenance_thiopurine * (1 - e_half)
    )


def test_user_errors(cohort, protocol, params):
    small = cohort.iloc[:10]
    with pytest.raises(InputError, match="arm"):
        engine.simulate(small, protocol, arm="Z", seed=1)
    with pytest.raises(InputError, match="bsa_m2"):
        engine.simulate(small.drop(columns="bsa_m2"), protocol, seed=1)
    with pytest.raises(InputError, match="chunk"):
        engine.simulate(small, protocol, seed=1, chunk_size=0)
    bad = ParameterSet(
        params={k: v for k, v in params.params.items() if k != "chemo.kill_maintenance_per_day"},
        origin="test.yaml",
    )
    with pytest.raises(ParameterError, match="kill_maintenance_per_day"):
        engine.simulate(small, protocol, params=bad, seed=1)


def test_isolated_cns_relapses_occur_and_blinatumomab_mainly_prevents_marrow_relapse(outcomes):
    """Isolated CNS relapse in SR: 6-y cumulative incidence a few percent (Matloub 2006: 3.4-5.9%
    in an older era; the model gives less, see docs/model.md); blinatumomab's benefit is in
    marrow relapse (AALL1731)."""
    p = outcomes.patients

    def cum(arms, site_is_cns):
        d = randomized(p, arms)
        site = d["relapse_site"].astype(object)
        hit = (site == "cns") if site_is_cns else site.isin(["marrow", "combined"])
        return float(np.mean(hit & (d["relapse_day"] < 6 * YEAR)))

    assert 0.002 <= cum(["A", "C"], True) <= 0.06
    assert cum(["B", "D"], False) < 0.5 * cum(["A", "C"], False)
    assert cum(["B", "D"], True) > 0.0


def test_children_off_study_are_reported_without_arm(outcomes):
    p = outcomes.patients
    off = p[p["risk_group"] == "off-study"]
    assert len(off) > 0
    assert off["arm"].isna().all()
    assert off["randomization_day"].isna().all()
    assert not p.loc[p["arm"] == "FAV", "randomization_day"].notna().any()

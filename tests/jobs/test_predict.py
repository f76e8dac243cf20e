"""issue #16: ``blinasim.jobs.predict`` (one child's prediction from virtual twins)."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from blinasim.cohort import RiskRules
from blinasim.errors import InputError
from blinasim.jobs.predict import ChildFacts, Prediction, predict
from blinasim.jobs.predict_results import HORIZONS_YEARS
from blinasim.jobs.predict_summary import interval, largest_remainder
from blinasim.jobs.predict_text import render
from blinasim.jobs.predict_twins import (
    ICONS,
    Facts,
    Observed,
    match,
    screen_draw,
    simulate_draw,
    start_of,
    twin_covariates,
)
from blinasim.model import simulate
from blinasim.model.after_relapse.history import trial_columns
from blinasim.model.engine import DEFAULT_HORIZON_DAYS
from blinasim.model.parameters import load_parameters
from blinasim.protocol import load_protocol

SMALL = {"draws": 4, "candidates": 1500, "min_twins": 200, "max_twins_per_draw": 300}
SR_AVERAGE = ChildFacts(
    age_years=5.0,
    sex="female",
    wbc_k_per_ul=10.0,
    cns=1,
    genetics="neutral",
    day8_mrd=1e-3,
    eoi_flow=0.0,
    eoi_hts=1e-5,
    eoc_flow=0.0,
)


@pytest.fixture(scope="module")
def sr_average() -> Prediction:
    return predict(SR_AVERAGE, seed=7, **SMALL)


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("age_years", -1.0),
        ("age_years", "five"),
        ("age_years", math.nan),
        ("age_years", True),
        ("sex", "other"),
        ("wbc_k_per_ul", -3.0),
        ("wbc_k_per_ul", math.inf),
        ("cns", 3),
        ("cns", "1"),
        ("genetics", "IKZF1"),
        ("down_syndrome", "yes"),
        ("day8_mrd", 1.5),
        ("eoi_flow", -1e-4),
        ("eoi_hts", "positive"),
        ("eoi_hts", 2.0),
        ("eoc_flow", "0.001"),
    ],
)
def test_every_field_is_validated(field: str, value: object) -> None:
    with pytest.raises(InputError) as err:
        ChildFacts(**{field: value})  # type: ignore[arg-type]
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{field}: expected")


def test_good_facts_and_unknowns() -> None:
    f = ChildFacts(age_years=4, eoi_hts="indeterminate", down_syndrome=False)
    assert f.unknown == (
        "sex",
        "wbc_k_per_ul",
        "cns",
        "genetics",
        "day8_mrd",
        "eoi_flow",
        "eoc_flow",
    )
    assert ChildFacts().unknown[0] == "age_years"


@pytest.mark.parametrize(
    ("facts", "field", "words"),
    [
        (ChildFacts(age_years=12.0), "age_years", "outside NCI standard risk"),
        (ChildFacts(age_years=0.5), "age_years", "1 to under 10 years"),
        (ChildFacts(wbc_k_per_ul=60.0), "wbc_k_per_ul", "under 50"),
        (ChildFacts(down_syndrome=True), "down_syndrome", "Down syndrome"),
    ],
)
def test_children_outside_standard_risk_are_refused(
    facts: ChildFacts, field: str, words: str
) -> None:
    assert facts.scope_problems()
    with pytest.raises(InputError, match=words) as err:
        predict(facts, seed=1, **SMALL)
    assert err.value.field == field
    assert "\n" not in str(err.value)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(InputError, match="draws"):
        predict(SR_AVERAGE, seed=1, draws=0)
    with pytest.raises(InputError, match="seed"):
        predict(SR_AVERAGE, seed=-1)
    with pytest.raises(InputError, match="facts"):
        predict({"age_years": 4}, seed=1)  # type: ignore[arg-type]


# --- icon arrays and intervals ----------------------------------------------------------


def test_largest_remainder_sums_to_100() -> None:
    g = np.random.default_rng(3)
    for _ in range(500):
        k = int(g.integers(1, 7))
        x = g.dirichlet(np.full(k, 0.3)) if g.random() < 0.8 else g.random(k)
        shares = {str(i): float(v) for i, v in enumerate(x)}
        if sum(shares.values()) <= 0:
            continue
        counts = largest_remainder(shares)
        assert sum(counts.values()) == 100
        for key, c in counts.items():
            quota = 100 * shares[key] / sum(shares.values())
            assert math.floor(quota) <= c <= math.floor(quota) + 1
    assert largest_remainder({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}) == {"a": 34, "b": 33, "c": 33}
    assert largest_remainder({"a": 0.905, "b": 0.095}) == {"a": 91, "b": 9}
    with pytest.raises(ValueError, match="positive sum"):
        largest_remainder({"a": 0.0})


def test_interval_takes_out_monte_carlo_noise() -> None:
    g = np.random.default_rng(1)
    n = np.full(50, 400.0)
    # no parameter uncertainty: the spread is Monte Carlo only, the interval is narrow
    means = g.binomial(400, 0.9, size=50) / 400
    iv = interval(means, means * (1 - means) / n, n)
    raw = np.quantile(means, [0.025, 0.975])
    assert iv.upper - iv.lower < 0.5 * (raw[1] - raw[0])
    assert iv.lower <= iv.estimate <= iv.upper
    # real spread across draws survives
    truth = np.linspace(0.80, 0.95, 50)
    means = g.binomial(400, truth) / 400
    iv = interval(means, means * (1 - means) / n, n)
    assert iv.lower < 0.83
    assert iv.upper > 0.92


def test_icon_counts_sum_to_100(sr_average: Prediction) -> None:
    for opt in sr_average.options.values():
        for h in HORIZONS_YEARS:
            assert set(opt.icons[h]) == set(ICONS)
            assert sum(opt.icons[h].values()) == 100
            assert min(opt.icons[h].values()) >= 0


# --- the prediction ---------------------------------------------------------------------


def test_sr_average_child_has_both_options(sr_average: Prediction) -> None:
    p = sr_average
    assert p.risk_group == "SR-Average"
    assert p.eligible_options == ("chemotherapy", "blinatumomab")
    assert p.unknown == ("down_syndrome",)
    assert p.comparison is not None
    for opt in p.options.values():
        for m in ("dfs", "os", "relapse", "hsct"):
            for h in HORIZONS_YEARS:
                iv = opt.measures[m][h]
                assert 0.0 <= iv.lower <= iv.estimate <= iv.upper <= 1.0
        for h in HORIZONS_YEARS:  # marrow (alone or combined) + isolated CNS = every relapse
            by_site = opt.measures["relapse_marrow"][h].estimate
            by_site += opt.measures["relapse_cns"][h].estimate
            assert by_site == pytest.approx(opt.measures["relapse"][h].estimate, abs=1e-9)
        dfs = [opt.measures["dfs"][h].estimate for h in HORIZONS_YEARS]
        assert dfs == sorted(dfs, reverse=True)
        assert opt.measures["os"][10].estimate >= opt.measures["dfs"][10].estimate
    chemo, blina = p.options["chemotherapy"], p.options["blinatumomab"]
    # CRS is a blinatumomab event
    assert chemo.toxicities["cytokine_release_syndrome"].estimate == 0.0
    assert p.matching["twins"] >= 200
    d = p.comparison.dfs[5]
    assert d.estimate == pytest.approx(
        blina.measures["dfs"][5].estimate - chemo.measures["dfs"][5].estimate, abs=1e-9
    )


def test_reproducible_with_a_seed(sr_average: Prediction) -> None:
    again = predict(SR_AVERAGE, seed=7, **SMALL)
    assert again.to_dict() == sr_average.to_dict()
    other = predict(SR_AVERAGE, seed=8, **SMALL)
    assert other.to_dict() != sr_average.to_dict()


def test_conditioning_on_eoi_flow_mrd() -> None:
    base = dict(age_years=5.0, sex="male", wbc_k_per_ul=8.0, cns=1, genetics="neutral")
    neg = predict(ChildFacts(**base, eoi_flow=0.0), seed=3, **SMALL)  # type: ignore[arg-type]
    pos = predict(ChildFacts(**base, eoi_flow=5e-4), seed=3, **SMALL)  # type: ignore[arg-type]
    assert pos.risk_group == "SR-High"
    assert neg.risk_group == "SR-Average"
    worse = pos.options["chemotherapy"].measures["dfs"][5].estimate
    better = neg.options["chemotherapy"].measures["dfs"][5].estimate
    assert worse < better - 0.02


def test_matched_twins_lie_in_the_band_and_window() -> None:
    protocol = load_protocol("aall1731")
    params = load_parameters()
    rules = RiskRules.load(params)
    cov = twin_covariates(Facts(6.0, None, False, "favorable"), 3000, 11)
    sc = screen_draw(cov, start_of(protocol), params, seed=11)
    obs = Observed(day8_pb_flow=2e-3, eoi_flow=0.0, eoi_hts=3e-5, eoc_flow=None)
    m = match(sc, obs, rules, 0.5)
    assert 0 < m.sum() < m.size
    d8, hts = sc.values["day8_pb_flow"][m], sc.values["eoi_hts"][m]
    assert (sc.values["eoi_flow"][m] < sc.flow_lod).all()
    assert (np.abs(np.log10(d8) - np.log10(2e-3)) <= 0.5).all()
    assert (d8 < rules.day8_pb_mrd_max_for_favorable).all()
    assert (np.abs(np.log10(hts) - np.log10(3e-5)) <= 0.5).all()
    assert (hts < rules.eoi_hts_mrd_favorable_max).all()
    assert not sc.hts_indeterminate[m].any()
    wide = match(sc, obs, rules, math.inf)
    assert wide.sum() >= m.sum()
    assert (wide | ~m).all()
    ind = match(sc, Observed(None, None, "indeterminate", None), rules, 0.5)
    assert (ind == sc.hts_indeterminate).all()


def test_twins_run_in_full_keep_their_readouts_and_lifetime_columns() -> None:
    """The full run reads what screening read; OS is the lifetime column of the trials."""
    protocol = load_protocol("aall1731")
    params = load_parameters()
    cov = twin_covariates(Facts(4.0, None, None, None), 400, 5)
    sc = screen_draw(cov, start_of(protocol), params, seed=5)
    tw = simulate_draw(
        cov,
        protocol,
        params,
        draw=0,
        seed=5,
        male_share=0.5,
        horizon_days=DEFAULT_HORIZON_DAYS,
    )
    for k, v in sc.values.items():
        assert np.array_equal(v, tw.readouts.values[k], equal_nan=True), k
    assert (tw.risk_group == sc.risk_group).all()
    out = simulate(cov, protocol, params=params, seed=5)
    p = out.patients
    chemo = p[~p["arm"].isin(["B", "D"])].reset_index(drop=True)
    cols = trial_columns(
        chemo,
        cov.set_index("patient_id").loc[chemo["patient_id"]].reset_index(),
        seed=5,
        horizon_day=DEFAULT_HORIZON_DAYS,
        params=params,
    )
    rows = np.searchsorted(cov["patient_id"].to_numpy(), chemo["patient_id"].to_numpy())
    ours = tw.outcomes["chemotherapy"]["death_day"][rows]
    theirs = np.where(
        cols["lifetime_death_day"] <= DEFAULT_HORIZON_DAYS, cols["lifetime_death_day"], np.inf
    )
    np.testing.assert_array_equal(ours, theirs)


def test_unknown_facts_are_listed_and_integrated_over() -> None:
    p = predict(ChildFacts(age_years=3.0, eoi_flow=0.0), seed=2, **SMALL)
    assert "genetics" in p.unknown
    assert "eoi_hts" in p.unknown
    # unknown genetics and HTS: the risk group is one of several
    assert p.risk_group == "uncertain"
    assert sum(p.risk_group_shares.values()) == pytest.approx(1.0)
    assert set(p.risk_group_shares) >= {"SR-Favorable", "SR-Average"}
    text = render(p)
    assert "genetics" in text
    assert "end-of-induction HTS MRD" in text
    assert any("SR-Favorable children were not randomized" in n for n in p.notes)


def test_sr_favorable_child_gets_chemotherapy_only() -> None:
    f = ChildFacts(
        age_years=4.0,
        sex="female",
        wbc_k_per_ul=5.0,
        cns=1,
        genetics="favorable",
        day8_mrd=0.0,
        eoi_flow=0.0,
        eoi_hts=0.0,
    )
    p = predict(f, seed=4, **SMALL)
    assert p.risk_group == "SR-Favorable"
    assert p.eligible_options == ("chemotherapy",)
    assert p.comparison is None
    assert any("not randomized to blinatumomab" in n for n in p.notes)
    text = render(p)
    assert "blinatumomab added" not in text.split("\n\n")[1]


def test_json_has_every_key(sr_average: Prediction) -> None:
    d = sr_average.to_dict()
    for key in ("risk_group", "eligible_options", "unknown", "options", "model_version"):
        assert key in d
    assert d["disclaimer"].startswith("blinasim is a research model, not medical advice")
    assert set(d["source"]) == {"trial", "model_version", "posterior"}
    assert "AALL1731" in d["source"]["trial"]
    for opt in ("chemotherapy", "blinatumomab"):
        o = d["options"][opt]
        for m in ("dfs", "os", "relapse", "hsct"):
            assert set(o[m]) == {"3", "5", "10"}
            assert set(o[m]["5"]) == {"estimate", "lower", "upper"}
        assert set(o["relapse_by_site"]) == {"marrow", "cns"}
        assert set(o["toxicities_grade3plus"]) == {
            "febrile_neutropenia",
            "sepsis",
            "cytokine_release_syndrome",
            "neurotoxicity",
        }
        assert set(o["icons"]) == {"3", "5", "10"}
        c = d["curves"][opt]
        assert len(c["years"]) == len(c["dfs"]) == len(c["os_upper"]) == 121
        assert c["years"][-1] == 10.0
        assert c["dfs"][0] == 1.0
    assert d["matching"]["twins"] == sr_average.matching["twins"]


def test_text_says_what_families_need(sr_average: Prediction) -> None:
    text = render(sr_average)
    assert "Out of 100 children like yours, about" in text
    assert "with blinatumomab added" in text
    assert "out of 100" in text
    assert "talk with your child's oncologist" in text
    assert "not medical advice" in text
    assert "Down syndrome" in text  # the unknown fact
    assert "What the model does not know" in text
    assert "AALL1731" in text


def test_rare_readouts_widen_the_match_and_say_so() -> None:
    f = ChildFacts(4.0, "male", 12.0, 1, "neutral", None, 0.02, 5e-4, 2e-4, 0.0)
    p = predict(f, seed=6, **{**SMALL, "min_twins": 1000})
    assert p.matching["widened"] is True
    assert p.matching["window_log10"] in (1.0, None)
    assert any("widened" in n for n in p.notes)
    assert p.risk_group == "SR-High"


def test_day8_left_out_only_where_it_cannot_change_the_risk_group() -> None:
    neutral = ChildFacts(5.5, None, 15.0, 1, "neutral", None, 0.012, 0.0, 3e-5, 0.0)
    p = predict(neutral, seed=9, **SMALL)
    assert p.matching["without_day8"] is True
    assert p.matching["screening_rounds"] == 1  # more rounds could not have reached 100
    assert any("day-8 was left out" in n for n in p.notes)
    favorable = ChildFacts(5.5, None, 15.0, 1, "favorable", None, 0.012, 0.0, 3e-5, 0.0)
    with pytest.raises(InputError, match="rarest in the model: day-8 blood MRD") as err:
        predict(favorable, seed=9, **SMALL)
    assert err.value.field == "MRD readouts"
    assert "\n" not in str(err.value)


def test_concurrent_predictions_agree() -> None:
    """Threads (the web app's requests) get the numbers of a prediction made alone."""
    small = {**SMALL, "draws": 2}
    alone = predict(SR_AVERAGE, seed=12, **small).to_dict()
    out: dict[int, dict[str, object]] = {}

    def run(i: int) -> None:
        out[i] = predict(SR_AVERAGE, seed=12, **small).to_dict()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [out[i] == alone for i in range(3)] == [True, True, True]

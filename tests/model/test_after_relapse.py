"""The pathway after a first relapse: invariants and published figures."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinasim.model import after_relapse as ar
from blinasim.model.after_relapse import AfterRelapseParams, fit

YEAR = 365.25
MARROW_SHARE = 0.725  # Rheingold 2024: 72.5% of B-ALL first relapses involve the marrow


@pytest.fixture(scope="module")
def ap() -> AfterRelapseParams:
    return AfterRelapseParams.load()


@pytest.fixture(scope="module")
def historical(ap: AfterRelapseParams) -> AfterRelapseParams:
    """The 1996-2014 pathway: chemotherapy consolidation, no CAR-T."""
    return dataclasses.replace(ap, blinatumomab_consolidation_share=0.0, cart_access_prob=0.0)


def _run(p, day, site, n=100_000, cd19neg=False, fav=False, **kw):
    ids = np.arange(n)
    return ar.salvage(
        ids,
        np.full(n, day),
        np.full(n, site),
        np.full(n, cd19neg),
        np.full(n, fav),
        seed=7,
        ap=p,
        **kw,
    )


def _os(o, day, years):
    return float(np.mean(o.death_day - day > years * YEAR))


@pytest.fixture(scope="module")
def fitted_os(ap):
    """The after-relapse fit's targets at the shipped values (historical pathway)."""
    return fit.simulate(ap, fit.cohorts(3000, 2024), 2024)


@pytest.mark.parametrize(
    ("tid", "target", "se"),
    [
        ("rheingold_os5_late", 0.664, 0.018),
        ("malempati_os3_isolated_extramedullary", 0.71, 0.05),
        ("ukall_r1_resistant_disease", 7 / 256, math.sqrt(7 / 256 * 249 / 256 / 256)),
    ],
)
def test_fitted_relapse_cohorts_within_two_se(fitted_os, tid, target, se):
    assert fitted_os[tid] == pytest.approx(target, abs=2 * se)


@pytest.mark.xfail(
    strict=True,
    reason="known gap (docs/after_relapse.md): the fit cannot meet survival by timing and the "
    "MRD after reinduction together - early relapses survive ~52% at 5 y (Rheingold 25.8%), "
    "intermediate 54% (49.5%), late marrow 62% at 3 y (Lew 72.3%), and 63% of late marrow "
    "relapses keep MRD >= 1e-3 after block 1 (Eckert 47.6%): the first-line model's early "
    "relapses carry more chemo-sensitive clones than its late ones",
)
@pytest.mark.parametrize(
    ("tid", "target", "se"),
    [
        ("rheingold_os5_early", 0.258, 0.024),
        ("rheingold_os5_intermediate", 0.495, 0.022),
        ("lew_os3_late_marrow", 0.723, 0.03),
        ("eckert_mrd_high_after_induction", 99 / 208, math.sqrt(99 / 208 * 109 / 208 / 208)),
    ],
)
def test_fitted_relapse_cohorts_known_misses(fitted_os, tid, target, se):
    assert fitted_os[tid] == pytest.approx(target, abs=2 * se)


def test_favorable_genetics_do_better(historical):
    # Rheingold 2024: ETV6::RUNX1 74.4 +- 3.1%, trisomy 4+10 70.2 +- 3.6% (median relapse 43 mo)
    day = 43 * 30.44
    fav = MARROW_SHARE * _os(_run(historical, day, 0, fav=True), day, 5) + (1 - MARROW_SHARE) * _os(
        _run(historical, day, 1, fav=True), day, 5
    )
    neutral = MARROW_SHARE * _os(_run(historical, day, 0), day, 5) + (1 - MARROW_SHARE) * _os(
        _run(historical, day, 1), day, 5
    )
    assert fav > neutral + 0.03


@pytest.fixture(scope="module")
def late_marrow(historical):
    o = _run(historical, 1500.0, 0)
    return o, o.death_day - 1500.0 > 3 * YEAR


def test_late_marrow_low_mrd_close_to_lew(late_marrow):
    # AALL0433 (Lew 2021, held out): 3-y OS 93.8% with MRD < 0.1% after block 1
    o, alive3 = late_marrow
    assert alive3[o.risk_group == 0].mean() == pytest.approx(0.938, abs=0.05)


@pytest.mark.xfail(
    strict=True,
    reason="known gap: late marrow relapses with MRD >= 0.1% after block 1 survive ~46% at 3 y "
    "in the historical pathway against 60.6% in AALL0433 (Lew 2021): with a 1.5-log "
    "transplant the MRD gradient is too steep (docs/after_relapse.md)",
)
def test_late_marrow_high_mrd_close_to_lew(late_marrow):
    o, alive3 = late_marrow
    assert alive3[o.risk_group == 1].mean() == pytest.approx(0.606, abs=0.08)


def test_survival_improves_with_later_relapse(ap):
    for site in (0, 1):
        os5 = [_os(_run(ap, d, site, n=40_000), d, 5) for d in (300.0, 800.0, 1500.0)]
        assert os5[0] < os5[1] < os5[2]


def test_blinatumomab_consolidation_helps_cd19_positive_only(ap):
    day = 600.0
    b = _run(ap, day, 0, consolidation="blinatumomab")
    c = _run(ap, day, 0, consolidation="chemotherapy")
    assert np.isfinite(b.relapse2_day).mean() < np.isfinite(c.relapse2_day).mean() - 0.03
    bn = _run(ap, day, 0, cd19neg=True, consolidation="blinatumomab")
    cn = _run(ap, day, 0, cd19neg=True, consolidation="chemotherapy")
    assert not bn.blinatumomab_consolidation.any()
    np.testing.assert_array_equal(bn.death_day, cn.death_day)


def test_cart_never_for_cd19_negative_nor_historical(ap, historical):
    assert np.isinf(_run(ap, 300.0, 0, cd19neg=True).cart_day).all()
    assert np.isinf(_run(historical, 300.0, 0).cart_day).all()
    assert np.isinf(_run(ap, 300.0, 0, age_at_relapse_years=np.full(100_000, 30.0)).cart_day).all()
    assert np.isfinite(_run(ap, 300.0, 0).cart_day).mean() > 0.1


def test_worse_cart_outcome_after_blinatumomab_nonresponse(ap):
    day = 300.0
    out = {}
    for arm in ("blinatumomab", "chemotherapy"):
        o = _run(ap, day, 0, consolidation=arm)
        got = np.isfinite(o.cart_day) & np.isfinite(o.relapse2_day)
        out[arm] = np.isfinite(o.death_day[got]).mean()
    assert out["blinatumomab"] > out["chemotherapy"] + 0.05


def test_pathway_is_per_child(ap):
    n = 5000
    ids = np.arange(n) * 3 + 11
    rd = np.linspace(100.0, 3000.0, n)
    site = np.arange(n) % 3
    neg = np.arange(n) % 7 == 0
    fav = np.arange(n) % 5 == 0
    full = ar.salvage(ids, rd, site, neg, fav, seed=5, ap=ap)
    sub = slice(1000, 1500)
    part = ar.salvage(ids[sub], rd[sub], site[sub], neg[sub], fav[sub], seed=5, ap=ap)
    np.testing.assert_array_equal(full.death_day[sub], part.death_day)
    np.testing.assert_array_equal(full.hsct_day[sub], part.hsct_day)


def test_relapse_without_site_is_refused(ap):
    with pytest.raises(ValueError, match="site"):
        ar.salvage(
            np.arange(2), np.array([400.0, np.inf]), np.array([-1, -1]),
            np.zeros(2, bool), np.zeros(2, bool), seed=1, ap=ap,
        )  # fmt: skip


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    days=st.lists(
        st.one_of(st.floats(30.0, 4000.0), st.just(float("inf"))), min_size=1, max_size=60
    ),
    seed=st.integers(0, 2**20),
    blina_share=st.floats(0.0, 1.0),
    cart=st.floats(0.0, 1.0),
)
def test_pathway_invariants(ap, days, seed, blina_share, cart):
    p = dataclasses.replace(ap, blinatumomab_consolidation_share=blina_share, cart_access_prob=cart)
    n = len(days)
    ids = np.arange(n, dtype=np.int64) * 17
    rd = np.asarray(days)
    site = np.where(np.isfinite(rd), np.arange(n) % 3, -1)
    neg = np.arange(n) % 4 == 1
    fav = np.arange(n) % 3 == 2
    o = ar.salvage(ids, rd, site, neg, fav, seed=seed, ap=p)
    rel = np.isfinite(rd)
    dead = np.isfinite(o.death_day)
    # no event without a relapse; causes exclusive and present iff dead
    for x in (o.hsct_day, o.cart_day, o.relapse2_day, o.death_day):
        assert np.isinf(x[~rel]).all()
        assert (x[rel & np.isfinite(x)] >= rd[rel & np.isfinite(x)]).all()
        # no event after death
        assert (x[np.isfinite(x)] <= o.death_day[np.isfinite(x)]).all()
    assert ((o.death_cause >= 0) == dead).all()
    assert set(np.unique(o.death_cause)) <= {-1, 0, 1}
    # HSCT only for high/intermediate risk in second remission; none after a second relapse
    h = np.isfinite(o.hsct_day)
    assert (o.risk_group[h] >= 1).all()
    assert not (h & o.refractory).any()
    assert (
        o.relapse2_day[h & np.isfinite(o.relapse2_day)]
        > o.hsct_day[h & np.isfinite(o.relapse2_day)]
    ).all()
    # CAR-T only for CD19-positive refractory disease or second relapse
    c = np.isfinite(o.cart_day)
    assert not (c & neg).any()
    assert (o.refractory[c] | np.isfinite(o.relapse2_day[c])).all()
    # blinatumomab consolidation only for CD19-positive high/intermediate risk
    assert not (o.blinatumomab_consolidation & (neg | (o.risk_group < 1))).any()


@settings(max_examples=10, deadline=None, derandomize=True)
@given(day=st.floats(30.0, 4000.0), site=st.integers(0, 2))
def test_survival_curve_non_increasing(ap, day, site):
    o = _run(ap, day, site, n=2000)
    grid = day + np.arange(0.0, 20.0, 0.5) * YEAR
    surv = [(o.death_day > g).mean() for g in grid]
    assert all(0.0 <= s <= 1.0 for s in surv)
    assert np.all(np.diff(surv) <= 0)


def test_second_malignancy_incidence(ap):
    ids = np.arange(400_000)
    d = ar.smn_day(ids, seed=2, ap=ap)
    assert np.mean(d <= 3652.5) == pytest.approx(0.0118, abs=0.001)


def test_death_after_smn_matches_its_5y_os(ap):
    ids = np.arange(200_000)
    s = np.full(ids.size, 1000.0)
    d = ar.death_after_smn_day(ids, s, seed=2, ap=ap)
    assert np.mean(d - s > 5 * YEAR) == pytest.approx(ap.smn_os5, abs=0.006)

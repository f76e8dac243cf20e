"""Hand-made event histories and simple values for the economics tests."""

from __future__ import annotations

import numpy as np
import pytest

from blinasim.cohort import screen_cohort
from blinasim.economics import EventHistory, PhaseTable, Values, base_values, load_setting
from blinasim.model.engine import simulate
from blinasim.protocol import load_protocol

INF = np.inf


def table(arm: str = "X", blina: bool = True) -> PhaseTable:
    """induction [0,28), consolidation [28,56), blinatumomab [56,91) (infusion [56,84)),
    maintenance [91,800); without blinatumomab: maintenance [56,800)."""
    if blina:
        kinds = ("induction", "consolidation", "blinatumomab", "maintenance")
        start, end = [0.0, 28.0, 56.0, 91.0], [28.0, 56.0, 91.0, 800.0]
        inf = ([56.0], [84.0], [15.0], [28.0])
    else:
        kinds = ("induction", "consolidation", "maintenance")
        start, end = [0.0, 28.0, 56.0], [28.0, 56.0, 800.0]
        inf = ([], [], [], [])
    return PhaseTable(
        arm=arm,
        kinds=kinds,
        start=np.array(start),
        end=np.array(end),
        infusion_start=np.array(inf[0]),
        infusion_end=np.array(inf[1]),
        infusion_dose=np.array(inf[2]),
        infusion_cap=np.array(inf[3]),
    )


def history(n_copies: int = 1, blina: bool = True, **over: object) -> EventHistory:
    """One child (copied ``n_copies`` times): BSA 1 m², relapse on day 400 (first-line stop),
    consolidation by chemotherapy on day 435, HSCT on day 500, leukemia death on day 1000;
    one grade-3 febrile neutropenia on day 10; randomized on day 56."""
    n = n_copies
    f = lambda x: np.full(n, x, dtype=np.float64)  # noqa: E731
    kw: dict[str, object] = dict(
        patient_id=np.arange(n, dtype=np.int64),
        age_years=f(5.0),
        bsa_m2=f(1.0),
        randomization_day=f(56.0),
        tables=(table(blina=blina),),
        table=np.zeros(n, dtype=np.int16),
        first_line_stop_day=f(400.0),
        ae_child=np.arange(n, dtype=np.int64),
        ae_type=np.zeros(n, dtype=np.int8),
        ae_grade=np.full(n, 3, dtype=np.int8),
        ae_day=f(10.0),
        relapse_day=f(400.0),
        consolidation_day=f(435.0),
        consolidation_blinatumomab=np.zeros(n, dtype=bool),
        hsct_day=f(500.0),
        cart_day=f(INF),
        failure_day=f(INF),
        relapse2_day=f(INF),
        death_day=f(1000.0),
        death_cause=np.ones(n, dtype=np.int8),
        end_day=f(1000.0),
    )
    kw.update(over)
    return EventHistory(**kw)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def canada() -> Values:
    return base_values(load_setting("canada-2024"))


def zeroed(v: Values, **keep: float) -> Values:
    """Every cost and utility 0 (discount 0), then ``keep`` (dotted names via ``**{...}``)."""
    z = {k: 0.0 for k in v if not _structural(k)}
    return v.replace(**{**z, **keep})


def _structural(name: str) -> bool:
    return name.endswith(("_years", "years", "duration_days", "duration_days_grade4")) or name in {
        "blinatumomab.vial_ug",
        "blinatumomab.dose_ug_per_m2_day",
        "blinatumomab.cap_ug_per_day",
        "blinatumomab.bag_hours",
        "blinatumomab.relapse_cycles",
        "blinatumomab.inpatient_days_per_cycle",
        "population",
    }


@pytest.fixture(scope="session")
def sim():
    """A small simulated AALL1731 cohort: (cohort, protocol, outcomes)."""
    cohort = screen_cohort(1500, seed=SIM_SEED).patients
    proto = load_protocol("aall1731")
    return cohort, proto, simulate(cohort, proto, seed=SIM_SEED)


SIM_SEED = 4242

"""The AALL1731 run report's lifetime section: read from the patients table, with an
event-history (state occupancy) figure."""

import numpy as np
import pandas as pd

from blinasim.reports.run import PATIENT_COLS, _lifetime_section

LIFETIME = ("hsct_day", "cart_day", "relapse2_day", "lifetime_death_day", "life_years")


def _pts(n: int = 400) -> pd.DataFrame:
    g = np.random.default_rng(3)
    death = np.where(g.random(n) < 0.1, g.uniform(100, 4000, n), np.inf)
    return pd.DataFrame(
        {
            "replicate": 0,
            "arm": np.where(np.arange(n) % 2 == 0, "blinatumomab", "chemotherapy"),
            "hsct_day": np.where(g.random(n) < 0.05, g.uniform(500, 1500, n), np.inf),
            "cart_day": np.full(n, np.inf),
            "relapse2_day": np.where(g.random(n) < 0.03, g.uniform(700, 2000, n), np.inf),
            "lifetime_death_day": death,
            "life_years": np.minimum(death / 365.25, 90.0),
        }
    )


def test_the_report_reads_the_lifetime_columns():
    assert set(LIFETIME) <= set(PATIENT_COLS)


def test_lifetime_section_has_the_event_history_figure():
    sec = _lifetime_section({}, _pts())
    figs = [b for b in sec.blocks if b.kind == "figure"]
    assert len(figs) == 3
    assert figs[-1].caption.startswith("Event history")
    assert figs[-1].src.startswith("data:image/png;base64,")


def test_late_effects_table_per_arm():
    from blinasim.model.after_relapse.late_effects import LATE_EFFECTS, column
    from blinasim.reports.late_effects import late_effects_table

    pts = _pts()
    n = len(pts)
    for i, e in enumerate(LATE_EFFECTS):
        pts[column(e)] = np.where(np.arange(n) % (i + 2) == 0, 3000.0 + 400 * i, np.inf)
    t = late_effects_table(pts, ("blinatumomab", "chemotherapy"))
    assert len(t) == len(LATE_EFFECTS)
    ever = t["blinatumomab: ever"].str.split("%").str[0].astype(float)
    ten = t["blinatumomab: 10 years"].str.split("%").str[0].astype(float)
    assert (ever <= 100).all()
    assert (ten <= ever).all()
    assert ever.iloc[0] == 100.0  # effect 0 on every even row: all the blinatumomab rows
    assert t["chemotherapy: ever"].iloc[0] == "0.0%"
    assert ten.iloc[-1] == 0.0  # day 6,200 is after 10 years
    sec = _lifetime_section({}, pts)
    assert any(b.kind == "table" and "Late effects" in b.caption for b in sec.blocks)

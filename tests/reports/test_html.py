import re

import numpy as np
import pandas as pd

from blinasim.reports import diagrams, figures
from blinasim.reports.html import Section, render


def test_report_is_self_contained_and_says_not_medical_advice():
    t = np.array([30.0, 200.0, 400.0, 900.0])
    curve = figures.StepCurve(
        label="chemotherapy",
        time=t,
        value=np.array([0.99, 0.95, 0.9, 0.85]),
        lower=np.array([0.97, 0.92, 0.86, 0.8]),
        upper=np.array([1.0, 0.98, 0.94, 0.9]),
        at_risk_time=np.array([10.0, 300.0, 800.0, 1200.0]),
    )
    fig = figures.step_plot(
        [curve],
        title="DFS",
        ylabel="Disease-free survival",
        published={"chemotherapy": (1095.75, 0.879, 0.021)},
    )
    sec = (
        Section("Disease-free survival", lead="Simulated")
        .figure(fig, "KM")
        .table(
            pd.DataFrame({"arm": ["a", "b"], "x": [1.0, 2.0], "off": [False, True]}),
            "T",
            flag_column="off",
        )
    )
    sec.kv([("seed", 1)]).text("<script>alert(1)</script>")
    html = render("Title <b>", [sec], subtitle="sub")
    assert "not medical advice" in html
    assert "data:image/png;base64," in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "<script>alert" not in html  # text is escaped
    assert "Title &lt;b&gt;" in html
    assert 'class="flag"' in html
    assert 'id="disease-free-survival"' in html


def test_numbers_at_risk():
    n = figures.numbers_at_risk([1, 2, 2, 5], [0, 2, 3, 6])
    assert n.tolist() == [4, 3, 1, 0]


def test_other_figures_render():
    figs = [
        figures.forest_plot(
            [
                figures.ForestRow("Stratum", 0, 0, 0, 0, 0, header=True),
                figures.ForestRow("SR-Average", 0.3, 0.15, 0.6, 700, 40),
                figures.ForestRow("SR-High", float("nan"), float("nan"), float("nan"), 10, 0),
            ],
            title="HR",
        ),
        diagrams.consort_diagram(
            [("Enrolled", ["n=100"]), ("A | B", ["n=50 | n=50"])], title="CONSORT"
        ),
        figures.histogram_log10(
            {"EOI": [0, 1e-5, 1e-3, 0.02]}, title="MRD", xlabel="MRD", thresholds={"flow": 1e-4}
        ),
        diagrams.timeline_plot(
            {"A": [("Induction", "induction", 0, 28), ("Maint", "maintenance", 28, 700)]}, title="T"
        ),
    ]
    for f in figs:
        assert figures.to_png_base64(f).startswith("data:image/png;base64,")

"""issue #11: labels are drawn literally, and importing the figures changes no global state."""

from __future__ import annotations

import subprocess
import sys
from html import escape

import matplotlib as mpl
import numpy as np
import pytest

from blinasim.reports import diagrams, figures

ODD = ["$\\alpha$ arm", "cost $5", "$x^$", "\\frac{1}{0}$", "$$", "a_b$^{c"]


def curve(label: str) -> figures.StepCurve:
    t = np.array([30.0, 200.0, 400.0])
    return figures.StepCurve(
        label=label,
        time=t,
        value=np.array([0.95, 0.9, 0.85]),
        lower=np.array([0.9, 0.85, 0.8]),
        upper=np.array([0.99, 0.95, 0.9]),
        censor_times=np.array([250.0]),
        at_risk_time=t,
    )


def drawn(fig: mpl.figure.Figure, label: str) -> int:
    """How many times ``label`` is drawn as plain text (SVG keeps text as text)."""
    return figures.to_svg(fig).count(escape(label, quote=False))


@pytest.mark.parametrize("label", ODD)
def test_dollar_labels_render_literally(label: str) -> None:
    fig = figures.step_plot(
        [curve(label), curve("blinatumomab")],
        title=f"title {label}",
        ylabel=label,
        published={label: (300.0, 0.9, 0.02)},
    )
    # title, y label, legend (curve and published point), numbers-at-risk row
    assert drawn(fig, label) >= 5
    fig = figures.step_plot([curve(label)], title="t", ylabel="y")
    assert figures.to_png_base64(fig).startswith("data:image/png;base64,")


def test_dollar_labels_in_every_figure_kind() -> None:
    label = ODD[0]
    figs = {
        "forest": figures.forest_plot(
            [
                figures.ForestRow(label, 0, 0, 0, 0, 0, header=True),
                figures.ForestRow(label, 0.5, 0.2, 0.9, 100, 10),
            ],
            title=label,
        ),
        "consort": diagrams.consort_diagram([(f"{label} | b", [f"{label} | n=2"])], title=label),
        "histogram": figures.histogram_log10(
            {label: [1e-5, 1e-3]}, title=label, xlabel=label, thresholds={label: 1e-4}
        ),
        "timeline": diagrams.timeline_plot({label: [(label, label, 0, 60)]}, title=label),
    }
    for name, f in figs.items():
        assert drawn(f, label) >= 2, name


def test_usetex_in_the_user_rc_is_not_used() -> None:
    with mpl.rc_context({"text.usetex": True}):
        fig = figures.step_plot([curve("$x$ arm")], title="$t", ylabel="y")
    texts = [t for t in fig.findobj(mpl.text.Text) if t.axes is not None and t.get_text()]
    assert texts
    assert all(not t.get_usetex() for t in texts if "$" in t.get_text())
    assert figures.to_png_base64(fig)  # no LaTeX run (none is installed here)


def test_import_changes_no_backend_and_no_pyplot() -> None:
    code = (
        "import sys, matplotlib; matplotlib.use('svg'); "
        "import blinasim.reports.figures as f, blinasim.analysis.run, blinasim.reports.html; "
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend(); "
        "assert 'matplotlib.pyplot' not in sys.modules; "
        "import numpy as np; "
        "c = f.StepCurve('a', np.array([1.0]), np.array([0.5])); "
        "f.to_png_base64(f.step_plot([c], title='t', ylabel='y')); "
        "assert 'matplotlib.pyplot' not in sys.modules; "
        "assert matplotlib.get_backend() == 'svg'"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr


def test_pyplot_figures_of_callers_are_still_closed() -> None:
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    fig, _ax = plt.subplots()
    figures.to_png_base64(fig)
    assert len(plt.get_fignums()) == before

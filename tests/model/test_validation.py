import numpy as np
import pytest

from blinasim.model import validation
from blinasim.targets import load_targets


def test_summary_table_covers_every_target(outcomes):
    table = validation.summarize(outcomes)
    assert list(table["metric"]) == [label for label, _ in validation.ROWS]
    assert table["model"].between(0.0, 1.0).all()
    # every published number comes from the targets file, with its role
    ts = load_targets()
    for _, row in table.iterrows():
        t = ts.get(row["target"])
        assert (row["published"], row["role"], row["source"]) == (t.estimate, t.role, t.source)
    roles = table.set_index("metric")["role"]
    assert roles["3-y DFS arm A (SR-Average chemo)"] == "fitted"
    assert roles["3-y DFS chemotherapy (A+C)"] == "derived"
    assert roles["EOI flow MRD negative"] == "fitted"
    assert roles["5-y EFS all SR on chemotherapy"] == "held_out"
    assert table.set_index("metric").loc["EOI flow MRD negative", "published"] == 0.775
    assert table["in_range"].dtype == bool
    # the headline trial figures are reproduced within their published uncertainty
    must = table.set_index("metric").loc[
        ["3-y DFS chemotherapy (A+C)", "3-y DFS blinatumomab (B+D)", "EOI flow MRD negative"]
    ]
    assert must["in_range"].all()
    assert np.isfinite(table["low"]).all()
    by_year = validation.dfs_by_year(outcomes)
    assert list(by_year.index) == ["A", "B", "C", "D"]
    assert (by_year.diff(axis=1).iloc[:, 1:] <= 0).all().all()  # DFS never rises
    # the blinatumomab arms are ahead of chemotherapy from the first year on
    assert (by_year.loc["B", "1 y":] >= by_year.loc["A", "1 y":]).all()
    assert (by_year.loc["D", "1 y":] >= by_year.loc["C", "1 y":]).all()
    mix = validation.stratum_mix(outcomes)
    assert mix.sum() == pytest.approx(1.0)


@pytest.mark.slow
def test_large_cohort_headline_targets(protocol):
    """200,000 children: the AALL1731 headline figures within their published ± 2 SE."""
    from blinasim.cohort import sample_cohort
    from blinasim.model import simulate

    out = simulate(sample_cohort(200_000, seed=11), protocol, seed=11)
    table = validation.summarize(out).set_index("metric")
    for metric in (
        "EOI flow MRD negative",
        "3-y DFS chemotherapy (A+C)",
        "3-y DFS blinatumomab (B+D)",
        "3-y DFS arm A (SR-Average chemo)",
        "3-y DFS arm B (SR-Average blina)",
        "3-y DFS arm C (SR-High chemo)",
        "3-y DFS arm D (SR-High blina)",
        "CD19-negative share of post-blina relapses",
    ):
        assert table.loc[metric, "in_range"], (metric, table.loc[metric, "model"])
    # known gap (model v2): with the verified risk rules SR-Favorable is larger and less
    # selected (neutral-genetics HTS-negative children are now SR-Average), and its 5-y EFS
    # is ~94% against P9900's 97% ('all favorable features'); guarded, not hidden
    fav = table.loc["5-y EFS SR-Favorable"]
    assert not fav["in_range"]
    assert 0.92 <= fav["model"] <= 0.97

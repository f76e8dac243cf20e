import numpy as np
import pytest

from blinasim.model import validation


def test_summary_table_covers_every_target(outcomes):
    table = validation.summarize(outcomes)
    assert list(table["metric"]) == list(validation.TARGETS)
    assert table["model"].between(0.0, 1.0).all()
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
        "5-y EFS SR-Favorable",
        "CD19-negative share of post-blina relapses",
    ):
        assert table.loc[metric, "in_range"], (metric, table.loc[metric, "model"])

import numpy as np

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

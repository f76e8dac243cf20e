"""The statements that outputs carry: simulations versus analyses of real data.

Every output that predicts outcomes from the model carries :data:`DISCLAIMER`. An analysis
of real trial data (``blinasim analyze`` on a file that blinasim did not simulate) carries
:func:`real_data_statement` instead: its numbers are the data's, not a simulation's.
"""

DISCLAIMER = (
    "blinasim is a research model, not medical advice: its predictions are simulations "
    "and must not guide the care of any child."
)


def real_data_statement(source: str) -> str:
    """The statement of an analysis of real data in ``source`` (a file name)."""
    return (
        f"Analysis of the data in {source}; blinasim's statistics (Kaplan-Meier, log-rank, "
        "Cox, RMST, cumulative incidence, Gray's test) agree with R survival and cmprsk to "
        "1e-6 in its test suite. The results describe these data and involve no simulation; "
        "blinasim is a research tool, not medical advice."
    )


__all__ = ["DISCLAIMER", "real_data_statement"]

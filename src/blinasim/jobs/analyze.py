"""``blinasim analyze`` and ``blinasim example``: analyse ADTTE data, write the folder, render.

The analysis (:mod:`blinasim.analysis.run`) writes the results folder; the report is then
rendered from that folder alone (:func:`blinasim.reports.render.write_report`), as
``blinasim report DIR`` would.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from blinasim.analysis import run as analysis
from blinasim.analysis.run import AnalysisRun
from blinasim.reports.render import write_report


def analyze_file(
    path: str | Path,
    *,
    out_dir: str | Path | None = None,
    params: Sequence[str] | None = None,
    milestone_years: float = 3.0,
    tau_years: float | None = None,
    control: str | None = None,
    extrapolate_years: float | None = None,
) -> AnalysisRun:
    """Read, analyse and report an ADTTE file (see :func:`blinasim.analysis.run.analyze_file`)."""
    run = analysis.analyze_file(
        path,
        out_dir=out_dir,
        params=params,
        milestone_years=milestone_years,
        tau_years=tau_years,
        control=control,
        extrapolate_years=extrapolate_years,
    )
    assert run.out_dir is not None
    write_report(run.out_dir)
    return run


def analyze_example(out_dir: str | Path, *, field: str = "--out") -> AnalysisRun:
    """The bundled veteran trial, analysed and reported (the statistics example)."""
    run = analysis.analyze_example(out_dir, field=field)
    assert run.out_dir is not None
    write_report(run.out_dir)
    return run


__all__ = ["analyze_example", "analyze_file"]

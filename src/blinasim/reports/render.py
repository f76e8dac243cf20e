"""Render any report from its results folder: ``blinasim report DIR`` and every job's last step.

The jobs write their results folder, then call :func:`write_report` on it; ``blinasim
report DIR`` calls the same function, so a re-rendered report is byte-identical to the one
the job wrote (the reports carry no generation time).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from blinasim.io.checkpoint import atomic_write_bytes
from blinasim.reports.analysis import render_analysis
from blinasim.reports.calibrate import render_calibration
from blinasim.reports.cea import render_cea
from blinasim.reports.compare import render_comparison
from blinasim.reports.folder import (
    ANALYSIS,
    CALIBRATE,
    CEA,
    COMPARE,
    RELAPSE,
    RUN,
    VALIDATE,
    ResultsFolder,
    open_folder,
)
from blinasim.reports.relapse import render_relapse
from blinasim.reports.run import render_run
from blinasim.reports.validate import render_validation


def _render_validation(folder: ResultsFolder) -> str:
    return render_validation(folder.path)


RENDERERS: dict[str, Callable[[ResultsFolder], str]] = {
    RUN: render_run,
    ANALYSIS: render_analysis,
    COMPARE: render_comparison,
    CALIBRATE: render_calibration,
    VALIDATE: _render_validation,
    RELAPSE: render_relapse,
    CEA: render_cea,
}


def render_folder(path: str | Path) -> str:
    """The HTML report of the results folder at ``path`` (one line if it is not one)."""
    folder = open_folder(path)
    return RENDERERS[folder.kind](folder)


def write_report(path: str | Path) -> Path:
    """Render the report of the results folder at ``path`` into its ``report.html``."""
    html = render_folder(path)
    return atomic_write_bytes(Path(path) / "report.html", html.encode("utf-8"))


__all__ = ["render_folder", "write_report"]

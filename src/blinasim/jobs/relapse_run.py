"""``blinasim run aall1331`` / ``blinasim run 20120215``: a relapse trial predicted.

The salvage pathway predicts the trial (:func:`blinasim.model.after_relapse.trials.predict`)
over ``replicates`` trials of the published size; the folder gets ``summary.json``
(``milestones``, ``hazard_ratio``, ``mrd_negative_after_cycle1``, ``hsct``, with what ran),
``patients.parquet`` (the randomized children, :mod:`.relapse_patients`), ``manifest.json``
and ``report.html``. Never fitted to these trials: they test the model. The shipped
posterior holds no after-relapse parameter, so the point values of ``parameters.yaml`` (or
``--params``) run. A research model, not medical advice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blinasim._version import __version__
from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError
from blinasim.io.checkpoint import write_results_json
from blinasim.io.outdir import prepare_out_dir
from blinasim.io.results import write_tables
from blinasim.jobs.relapse_patients import randomized_patients
from blinasim.model.after_relapse import AfterRelapseParams
from blinasim.model.after_relapse.trials import TRIALS, RelapseTrial, predict
from blinasim.model.parameters import load_parameter_file
from blinasim.reports.render import write_report

RELAPSE_TRIALS = TRIALS
"""Trial names ``blinasim run`` sends here."""


@dataclass(frozen=True)
class RelapseRun:
    """Where the run wrote and what it found."""

    out: Path
    summary: dict[str, Any]


def run_relapse_trial(
    trial: str,
    *,
    replicates: int,
    seed: int,
    out: Path | None = None,
    params: str | None = None,
    protocol: str | None = None,
) -> RelapseRun:
    """Predict relapse trial ``trial`` and write its results folder."""
    if trial not in RELAPSE_TRIALS:
        raise InputError(f"one of {RELAPSE_TRIALS}", field="trial", got=trial)
    if replicates < 2:
        raise InputError("at least 2 replicates", field="--replicates", got=replicates)
    if seed < 0:
        raise InputError("a non-negative seed", field="--seed", got=seed)
    if protocol is not None:
        raise InputError(
            "no --protocol: a relapse trial runs the salvage pathway", field="--protocol"
        )
    folder = prepare_out_dir(out if out is not None else Path("results") / f"run_{trial}")
    ps = None if params is None else load_parameter_file(params)
    ap = AfterRelapseParams.load(ps)
    t0 = time.perf_counter()
    res = predict(RelapseTrial.load(trial), replicates=replicates, seed=seed, ap=ap)
    summary: dict[str, Any] = {
        "what": f"Prediction of {res['title']} by the blinasim salvage pathway "
        "(never fitted to this trial).",
        "disclaimer": DISCLAIMER,
        "interval": "95% interval over simulated trials of the published size "
        "(2.5%-97.5% quantiles); se is the standard deviation over trials",
        **res,
        "run": {
            "seed": seed,
            "params": params,
            "version": __version__,
            "seconds": time.perf_counter() - t0,
        },
    }
    write_results_json(folder / "summary.json", summary)
    # the same randomized children, one row each, for the report's curves and event history
    patients = randomized_patients(
        RelapseTrial.load(trial), replicates=replicates, seed=seed, ap=ap
    )
    write_tables(folder, {"patients": patients})
    write_results_json(
        folder / "manifest.json",
        {"job": "run", "kind": "relapse-trial", "trial": trial, "replicates": replicates,
         "seed": seed, "params": params, "version": __version__},
    )  # fmt: skip
    write_report(folder)  # report.html beside summary.json (reports/relapse.py)
    return RelapseRun(out=folder, summary=summary)


def summary_lines(r: RelapseRun) -> list[str]:
    """A few lines for the terminal."""
    s = r.summary
    lines = [s["what"]]
    for m in s["milestones"]:
        if m["years"] == 2:
            lines.append(
                f"2-year {m['endpoint'].upper()} {m['arm']}: {m['estimate']:.1%} "
                f"({m['lower']:.1%}-{m['upper']:.1%})"
            )
    for ep, h in s["hazard_ratio"].items():
        lines.append(
            f"{ep.upper()} hazard ratio {h['estimate']:.2f} ({h['lower']:.2f}-{h['upper']:.2f})"
        )
    lines.append("transplanted: " + ", ".join(f"{arm} {v:.0%}" for arm, v in s["hsct"].items()))
    lines.append(f"results: {r.out}")
    lines.append(DISCLAIMER)
    return lines

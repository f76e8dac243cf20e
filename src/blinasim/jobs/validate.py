"""``blinasim validate``: every published target beside the model's posterior prediction.

For each posterior draw (all draws of the shipped ensemble, or ``draws`` of a given one) the
calibration's own simulator simulates a cohort and the calibration's summaries turn it into
the simulated counterpart of every target (:class:`DrawSummaries`; no second simulator).
The posterior predictive interval of each published estimate is the calibration report's
(:func:`blinasim.calibrate.report.predictive_table`: each draw's model value plus the trial's
sampling noise). A target is *inside* when its published estimate lies in that 95% interval.

Targets: every file in ``data/targets/`` (or the one file the posterior's config names, e.g.
a toy), each with its role. A target the posterior was *fitted* to is reported as fitted,
whatever its role in the file today (the posterior's sidecar lists them), so an in-sample
number is never counted as validation. Only ``held_out`` targets are validation. A target
without a simulated counterpart is listed as not simulated, never dropped.

The numbers depend on the inputs only: the posterior, its config, the target files, the
seed, the number of children and of draws; not on the number of workers (each draw is one
deterministic evaluation, common random numbers). With an output folder the evaluations are
checkpointed after every batch (``validate_checkpoint.npz``, plain ``.npz``, never a pickle)
and the same command resumes where it stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim._version import __version__
from blinasim.calibrate.config import CalibrationConfig
from blinasim.calibrate.ensemble import PosteriorEnsemble, load_posterior
from blinasim.calibrate.report import predictive_table
from blinasim.calibrate.targets import ROLES, Target, default_targets_path, load_targets
from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError
from blinasim.io.checkpoint import write_results_json
from blinasim.io.outdir import prepare_out_dir
from blinasim.jobs.validate_draws import CHECKPOINT, DrawSummaries, Progress, evaluate, identity
from blinasim.jobs.whatif import COMPARISONS, WhatIfReport, run_whatif
from blinasim.reports.validate import write_validation_report

FloatArray = NDArray[np.float64]
QUICK_DRAWS = 20
QUICK_PATIENTS = 1000
VALIDATION_NOTE = (
    "Only held-out targets count as validation: fitted targets were used by the likelihood, "
    "derived ones are computed from fitted ones, closed-form ones set a parameter, inputs are "
    "taken as given."
)
WHATIF_DRAWS = 20
"""Posterior draws of the what-if comparisons: a tenth of the validation's, at most this."""


def whatif_draws(draws: int) -> int:
    """Draws of the what-if comparisons for a validation of ``draws`` draws (1 to 20)."""
    return max(1, min(WHATIF_DRAWS, draws // 10))


WHATIF_NOTE = (
    "what-if comparisons of backbone intensity, predicted and never fitted "
    "(blinasim.jobs.whatif.run_whatif): not run (--no-whatif)"
)
WHATIF_TARGETS = frozenset(
    t for c in COMPARISONS for t in (c.control_target, c.experimental_target)
)
"""Held-out targets predicted as pairs by the what-if job, not one by one here."""


@dataclass(frozen=True)
class ValidateConfig:
    """What a validation depends on (``None``: the posterior's own setting)."""

    posterior: str | None = None
    """Posterior CSV or folder; ``None``: the shipped ensemble."""
    draws: int | None = None
    """Posterior draws to simulate; ``None``: every draw of the ensemble, in order."""
    n_patients: int | None = None
    """Children per simulated cohort; ``None``: the calibration's."""
    seed: int | None = None
    """Seed of the simulated cohort; ``None``: the calibration's ``predictive_seed`` (a cohort
    other than the one the posterior was fitted on, as its fresh-seed check)."""

    def __post_init__(self) -> None:
        if self.draws is not None and self.draws < 1:
            raise InputError(
                "a positive number of posterior draws", field="--draws", got=self.draws
            )
        if self.n_patients is not None and self.n_patients < 10:
            raise InputError("at least 10 children per cohort", field="--n", got=self.n_patients)
        if self.seed is not None and self.seed < 0:
            raise InputError("a seed >= 0", field="--seed", got=self.seed)


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95% interval."""

    estimate: float
    lower: float
    upper: float


@dataclass(frozen=True)
class TargetRow:
    """One target: published, predicted (``None``: not simulated), inside its interval."""

    id: str
    role: str
    study: str
    quantity: str
    description: str
    published: Interval
    predicted: Interval | None
    model: Interval | None
    """Posterior mean and 95% interval of the simulated counterpart (no sampling noise)."""
    mc_se: float | None
    inside: bool | None
    note: str


@dataclass(frozen=True)
class RoleCount:
    """Per role: targets, how many were simulated, how many of those are inside."""

    n: int
    simulated: int
    inside: int
    whatif: int = 0
    """Of the not simulated: targets predicted as pairs by the what-if job."""


@dataclass(frozen=True)
class ValidationResult:
    """Everything ``blinasim validate`` shows and writes."""

    rows: tuple[TargetRow, ...]
    summary: dict[str, RoleCount]
    posterior: str
    settings: dict[str, Any]
    timing_s: float
    whatif: tuple[dict[str, Any], ...] = ()

    def document(self) -> dict[str, Any]:
        """The ``--json`` document (``validate.json``)."""
        return {
            "model_version": __version__,
            "posterior": self.posterior,
            "disclaimer": DISCLAIMER,
            "validation_note": VALIDATION_NOTE,
            "settings": self.settings,
            "targets": [row_document(r) for r in self.rows],
            "summary": {
                k: {"n": c.n, "simulated": c.simulated, "inside": c.inside}
                for k, c in self.summary.items()
            },
            "summary_lines": summary_lines(self.summary)
            + ([whatif_line(self.whatif)] if self.whatif else []),
            "whatif": list(self.whatif),
            "whatif_note": whatif_line(self.whatif) if self.whatif else WHATIF_NOTE,
            "timing_s": self.timing_s,
        }


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def row_document(r: TargetRow) -> dict[str, Any]:
    """One target of the JSON document (NaN as null)."""

    def iv(v: Interval | None) -> dict[str, float | None] | None:
        if v is None:
            return None
        return {"estimate": _num(v.estimate), "lower": _num(v.lower), "upper": _num(v.upper)}

    return {
        "id": r.id,
        "role": r.role,
        "study": r.study,
        "quantity": r.quantity,
        "description": r.description,
        "published": iv(r.published),
        "predicted": iv(r.predicted),
        "model": iv(r.model),
        "mc_se": None if r.mc_se is None else _num(r.mc_se),
        "inside": r.inside,
        "note": r.note,
    }


ROLE_WORDS = {
    "fitted": "fitted",
    "held_out": "held out",
    "derived": "derived",
    "closed_form": "closed form",
    "input": "input",
}


def summary_lines(summary: Mapping[str, RoleCount]) -> list[str]:
    """``held out: 3 of 9 inside`` per role (of the simulated ones), validation first."""
    out = []
    for role in ("held_out", *[r for r in ROLES if r != "held_out"]):
        c = summary.get(role)
        if c is None or c.n == 0:
            continue
        rest = c.n - c.simulated - c.whatif
        parts = [f"{c.whatif} predicted as what-if pairs"] if c.whatif else []
        parts += [f"{rest} not simulated"] if rest else []
        extra = f" ({', '.join(parts)})" if parts else ""
        tag = " <- validation" if role == "held_out" else " (not validation)"
        out.append(f"{ROLE_WORDS[role]}: {c.inside} of {c.simulated} inside{extra}{tag}")
    return out


def whatif_rows(report: WhatIfReport) -> tuple[dict[str, Any], ...]:
    """The what-if job's comparisons as rows of the document (intervals as lower/upper)."""
    rows = []
    for r in report.results:
        rows.append(
            {
                "id": r.id,
                "description": r.description,
                "endpoint": r.endpoint,
                "years": r.years,
                "population": r.population,
                "published": {
                    "estimate": r.published.estimate,
                    "lower": r.published.low,
                    "upper": r.published.high,
                },
                "predicted": {
                    "estimate": r.predicted.estimate,
                    "lower": r.predicted.low,
                    "upper": r.predicted.high,
                },
                "hit": r.hit,
                "published_arms": [r.published_control, r.published_experimental],
                "predicted_arms": [r.predicted_control, r.predicted_experimental],
                "parameters": report.parameters,
                "children": report.n,
            }
        )
    return tuple(rows)


def whatif_line(rows: Sequence[Mapping[str, Any]]) -> str:
    """``what-if: 2 of 4 predicted effects inside the published 95% CI``."""
    hits = sum(bool(r.get("hit")) for r in rows)
    return (
        f"what-if (held out, never fitted): {hits} of {len(rows)} predicted effects inside "
        "the published 95% CI"
    )


def shipped_target_files() -> tuple[Path, ...]:
    """Every target file shipped in ``data/targets/`` (sorted by name)."""
    return tuple(sorted(default_targets_path().parent.glob("*.yaml")))


def load_all_targets(files: Sequence[Path]) -> tuple[Target, ...]:
    """The targets of these files, in file order; an id in two files is an input error."""
    seen: dict[str, Path] = {}
    out: list[Target] = []
    for f in files:
        for t in load_targets(f).targets:
            if t.id in seen:
                raise InputError(
                    f"target ids unique across target files (also in {seen[t.id].name})",
                    file=f,
                    field="id",
                    got=t.id,
                )
            seen[t.id] = f
            out.append(t)
    return tuple(out)


def posterior_config(ens: PosteriorEnsemble) -> CalibrationConfig:
    """The calibration config a posterior was made with (its sidecar), target file resolved."""
    doc = ens.meta.get("config")
    if not isinstance(doc, dict):
        raise InputError("a posterior sidecar with its calibration config", file=ens.origin)
    doc = dict(doc)
    tf = doc.get("targets_file")
    if tf and not Path(tf).is_absolute():  # written relative to the posterior's folder
        doc["targets_file"] = str(Path(ens.origin).parent / tf)
    try:
        return CalibrationConfig.model_validate(doc)
    except ValueError as exc:
        raise InputError("a valid calibration config in the sidecar", file=ens.origin) from exc


def _row(t: Target, role: str, note: str, r: Mapping[str, Any] | None) -> TargetRow:
    pub = Interval(t.estimate, t.low, t.high)
    pred = model = None
    mc_se = None
    inside = None
    if r is not None:
        pred = Interval(float(r["predicted_mean"]), float(r["ppi_q025"]), float(r["ppi_q975"]))
        model = Interval(float(r["predicted_mean"]), float(r["model_q025"]), float(r["model_q975"]))
        mc_se = float(r["mc_se"])
        inside = bool(pred.lower <= t.estimate <= pred.upper)
    return TargetRow(
        id=t.id,
        role=role,
        study=t.study,
        quantity=t.quantity,
        description=t.description,
        published=pub,
        predicted=pred,
        model=model,
        mc_se=mc_se,
        inside=inside,
        note=note,
    )


def build_rows(
    targets: Sequence[Target],
    fitted_by_posterior: set[str],
    values: FloatArray,
    mcse: FloatArray,
    seed: int,
) -> tuple[TargetRow, ...]:
    """One row per target from the draws' simulated values (``(draws, targets)``)."""
    tab = predictive_table(targets, sorted(fitted_by_posterior), values, mcse, seed)
    rows = []
    for j, t in enumerate(targets):
        role = "fitted" if t.id in fitted_by_posterior else t.role
        notes = []
        if role != t.role:
            notes.append(f"fitted by this posterior (role in the target file: {t.role})")
        elif (
            t.role == "fitted"
            and t.fitted_by is None
            and fitted_by_posterior
            and t.id not in fitted_by_posterior
        ):
            notes.append("role fitted in the target file, but not fitted by this posterior")
        simulated = bool(np.isfinite(values[:, j]).any())
        if t.summary is None and t.id in WHATIF_TARGETS:
            notes.append("not simulated here: predicted as a pair by the what-if job (whatif)")
        elif t.summary is None and t.fitted_by is not None:
            notes.append(f"fitted by the {t.fitted_by.replace('_', '-')} fit, not simulated here")
        elif t.summary is None:
            notes.append("not simulated: no simulated counterpart (summary) in its target file")
        elif not simulated:
            notes.append("not simulated: the simulation gave no value (e.g. no such events)")
        if t.role_note and role == t.role:
            notes.append(t.role_note)
        r = {str(k): v for k, v in tab.iloc[j].to_dict().items()} if simulated else None
        rows.append(_row(t, role, "; ".join(notes), r))
    return tuple(rows)


def count_roles(rows: Sequence[TargetRow]) -> dict[str, RoleCount]:
    """Per role (in :data:`ROLES` order): targets, simulated, inside."""
    out: dict[str, RoleCount] = {}
    for role in ROLES:
        mine = [r for r in rows if r.role == role]
        if mine:
            sim = [r for r in mine if r.predicted is not None]
            pairs = sum(r.predicted is None and r.id in WHATIF_TARGETS for r in mine)
            out[role] = RoleCount(len(mine), len(sim), sum(bool(r.inside) for r in sim), pairs)
    return out


def validate(
    cfg: ValidateConfig,
    *,
    workers: int | None = None,
    out_dir: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    warn: Callable[[str], None] | None = None,
    progress: Progress | None = None,
    whatif: bool = False,
) -> ValidationResult:
    """Simulate the posterior draws and compare every target with its prediction.

    ``whatif``: also run the what-if backbone comparisons (:func:`run_whatif` on the same
    posterior, seed and children, :func:`whatif_draws` draws) into the document.
    """
    if workers is not None and workers < 1:
        raise InputError("workers >= 1", field="--workers", got=workers)
    t0 = time.perf_counter()
    ens = load_posterior(cfg.posterior)
    pcfg = posterior_config(ens)
    own = pcfg.targets_file
    files = (Path(own),) if own is not None else shipped_target_files()
    targets = load_all_targets(files)
    fitted = set(ens.meta.get("fit_targets") or pcfg.fit)
    seed = pcfg.predictive_seed if cfg.seed is None else cfg.seed
    n_pat = pcfg.simulation.n_patients if cfg.n_patients is None else cfg.n_patients
    # the posterior's own lists of fitted and compared targets are dropped: the simulator
    # gets this validation's targets, and lists made before a target gained a simulated
    # counterpart would no longer match the file's roles
    sim_cfg = pcfg.model_copy(
        update={
            "seed": seed,
            "fit": (),
            "hold_out": (),
            "simulation": pcfg.simulation.model_copy(update={"n_patients": n_pat}),
        }
    )
    idx = ens.indices(n=cfg.draws, seed=None if cfg.draws is None else seed)
    thetas = [ens.values(int(i)) for i in idx]
    ident = identity(ens, sim_cfg, idx, files)
    prog = progress if progress is not None else Progress()
    ck = prepare_out_dir(out_dir) / CHECKPOINT if out_dir is not None else None
    prog.checkpoint = ck
    values, mcse = evaluate(
        DrawSummaries(sim_cfg, targets),
        thetas,
        workers=workers,
        checkpoint=ck,
        ident=ident,
        progress=prog,
        on_progress=on_progress,
        warn=warn,
    )
    rows = build_rows(targets, fitted, values, mcse, sim_cfg.predictive_seed)
    wi: tuple[dict[str, Any], ...] = ()
    if whatif:
        wdraws = whatif_draws(len(idx))
        wi = whatif_rows(run_whatif(n_pat, seed=seed, posterior=cfg.posterior, draws=wdraws))
    settings = {
        "posterior_file": Path(ens.origin).name,
        "draws": len(idx),
        "ensemble_size": len(ens),
        "children_per_draw": n_pat,
        "seed": seed,
        "fitted_seed": pcfg.seed,
        "target_files": [f.name for f in files],
        "fitted_by_posterior": sorted(fitted),
        "whatif": {"draws": whatif_draws(len(idx)), "children": n_pat, "seed": seed}
        if whatif
        else None,
        "predictive_interval": "95% posterior predictive interval of the published estimate: "
        "each draw's simulated value plus the trial's sampling noise (binomial for counts, "
        "normal with the published SE otherwise)",
    }
    return ValidationResult(
        rows=rows,
        summary=count_roles(rows),
        posterior=ens.name,
        settings=settings,
        timing_s=time.perf_counter() - t0,
        whatif=wi,
    )


def write_outputs(result: ValidationResult, out_dir: Path) -> dict[str, Path]:
    """``validate.json`` and ``report.html`` (rendered from the JSON by the reports package)."""
    json_path = write_results_json(out_dir / "validate.json", result.document())
    return {"json": json_path, "html": write_validation_report(out_dir)}


def table_frame(result: ValidationResult) -> pd.DataFrame:
    """The validation table as a DataFrame (for the HTML report and tests)."""
    recs = []
    for r in result.rows:
        p = r.predicted
        recs.append(
            {
                "target": r.id,
                "role": r.role,
                "study": r.study,
                "published": r.published.estimate,
                "published_low": r.published.lower,
                "published_high": r.published.upper,
                "predicted": None if p is None else p.estimate,
                "predicted_low": None if p is None else p.lower,
                "predicted_high": None if p is None else p.upper,
                "inside": r.inside,
                "note": r.note,
            }
        )
    return pd.DataFrame(recs)


__all__ = [
    "CHECKPOINT",
    "QUICK_DRAWS",
    "QUICK_PATIENTS",
    "VALIDATION_NOTE",
    "DrawSummaries",
    "Interval",
    "Progress",
    "RoleCount",
    "TargetRow",
    "ValidateConfig",
    "ValidationResult",
    "build_rows",
    "count_roles",
    "load_all_targets",
    "posterior_config",
    "shipped_target_files",
    "summary_lines",
    "table_frame",
    "validate",
    "whatif_draws",
    "whatif_line",
    "whatif_rows",
    "write_outputs",
]

"""From a finished calibration: the posterior ensemble, posterior predictions and the report.

With an importance-sampling stage (config ``importance``) the ensemble is a systematic
resample of the Pareto-smoothed importance weights and the emcee chain is reported as
stage 1 only; without it, the ensemble is drawn from the post-burn-in walkers.

For every target (fitted or held out) the report gives the published figure, the posterior
mean of the simulated counterpart with its 95% posterior interval, and the 95% posterior
predictive interval of the *published estimate* (the model value of each ensemble member
plus the trial's own sampling noise: binomial for counts, normal with the published SE
otherwise). A target outside its predictive interval is flagged and warned about.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim import rng
from blinasim._version import __version__
from blinasim.calibrate.config import CalibrationConfig
from blinasim.calibrate.ensemble import PosteriorEnsemble, save_posterior
from blinasim.calibrate.importance import (
    ImportanceDiagnostics,
    ImportanceRun,
    importance_diagnostics,
    psis,
    systematic_resample,
    weighted_summary,
)
from blinasim.calibrate.likelihood import predictive_draw
from blinasim.calibrate.sampler import (
    Chain,
    Diagnostics,
    diagnostics,
    posterior_arrays,
    select_ensemble,
)
from blinasim.calibrate.targets import Target
from blinasim.disclaimer import DISCLAIMER
from blinasim.io.checkpoint import atomic_write_json

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CalibrationResult:
    """Everything a finished calibration produced."""

    config: CalibrationConfig
    ensemble: PosteriorEnsemble
    predictions: pd.DataFrame
    diagnostics: Diagnostics
    model_values: FloatArray
    """``(ensemble_size, n_targets)``: simulated counterparts of the ensemble's draws."""
    fresh_seed: pd.DataFrame | None = None
    importance: ImportanceDiagnostics | None = None
    """Stage-2 diagnostics (``None``: the emcee chain is the posterior)."""
    stage_comparison: pd.DataFrame | None = None
    """Per parameter: stage-1 (emcee) mean/SD next to the importance-weighted ones."""

    def convergence_warnings(self) -> list[str]:
        """Why the posterior fails its convergence criteria (empty when it passes)."""
        if self.importance is not None:
            return self.importance.problems()
        out = []
        d = self.diagnostics
        if d.chain_too_short:
            out.append("emcee chain shorter than 50 autocorrelation times")
        if np.isfinite(d.rhat).any() and float(np.nanmax(d.rhat)) > 1.1:
            out.append(f"emcee split-R-hat up to {np.nanmax(d.rhat):.2f} > 1.1: not mixed")
        return out


def predictive_table(
    targets: Sequence[Target],
    fit_ids: Sequence[str],
    model_values: FloatArray,
    mc_se: FloatArray,
    seed: int,
) -> pd.DataFrame:
    """One row per target: published vs posterior (predictive) summaries."""
    rows = []
    n = model_values.shape[0]
    fit = set(fit_ids)
    for j, t in enumerate(targets):
        m = model_values[:, j]
        ok = np.isfinite(m)
        u = rng.uniforms(seed, "calibrate.predictive", 0, n, j)
        y = np.array([predictive_draw(t, float(m[i]), float(u[i])) for i in range(n)])
        yf = y[np.isfinite(y)]
        mean = float(m[ok].mean()) if ok.any() else math.nan
        q = np.quantile(m[ok], [0.025, 0.975]) if ok.any() else [math.nan, math.nan]
        pq = np.quantile(yf, [0.025, 0.975]) if yf.size else [math.nan, math.nan]
        inside = bool(pq[0] <= t.estimate <= pq[1]) if yf.size else False
        rows.append(
            {
                "target": t.id,
                "description": t.description,
                "used": "fit" if t.id in fit else "held out",
                "role": t.role,
                "published": t.estimate,
                "published_se": t.se,
                "predicted_mean": mean,
                "model_q025": float(q[0]),
                "model_q975": float(q[1]),
                "ppi_q025": float(pq[0]),
                "ppi_q975": float(pq[1]),
                "z": (t.estimate - mean) / t.se if math.isfinite(mean) else math.nan,
                "within_2se": bool(abs(t.estimate - mean) <= 2 * t.se)
                if math.isfinite(mean)
                else False,
                "inside_ppi": inside,
                "mc_se": float(np.nanmean(mc_se[:, j]))
                if np.isfinite(mc_se[:, j]).any()
                else math.nan,
                "source": t.source,
            }
        )
    return pd.DataFrame(rows)


METHOD_EMCEE = (
    "synthetic likelihood (binomial counts; normal estimates with published SE, "
    "simulator Monte Carlo SE and model-discrepancy SD), emcee affine-invariant "
    "ensemble MCMC, common random numbers"
)
METHOD_TWO_STAGE = (
    "synthetic likelihood (binomial counts; normal estimates with published SE, "
    "simulator Monte Carlo SE and model-discrepancy SD), common random numbers; "
    "stage 1: emcee ensemble MCMC ({moves} moves) to locate the posterior; stage 2: "
    "importance sampling in the prior's normal-score space from a defensive mixture "
    "(Student-t fitted to stage 1 plus the prior{rounds}), Pareto-smoothed weights (PSIS), "
    "ensemble by systematic resampling"
)


def two_stage_method(config: CalibrationConfig) -> str:
    """The method text of a two-stage run (moves and adaptive rounds named)."""
    moves = {"de": "differential-evolution", "stretch": "affine-invariant stretch"}
    spec = config.importance
    rounds = spec.rounds if spec is not None else 1
    extra = f"; {rounds} adaptive rounds, deterministic-mixture weights" if rounds > 1 else ""
    return METHOD_TWO_STAGE.format(moves=moves[config.sampler.moves], rounds=extra)


def _emcee_diag(chain: Chain, diag: Diagnostics) -> dict[str, Any]:
    return {
        "acceptance_fraction": diag.acceptance_fraction,
        "autocorr_steps": dict(zip(chain.keys, diag.autocorr_steps, strict=True)),
        "effective_samples": diag.effective_samples,
        "chain_shorter_than_50_tau": diag.chain_too_short,
        "split_rhat": dict(zip(chain.keys, diag.rhat, strict=True)),
        "n_evaluations": diag.n_evals,
        "sampler_wall_time_s": diag.elapsed_s,
    }


def build_result(
    config: CalibrationConfig,
    chain: Chain,
    targets: Sequence[Target],
    importance: ImportanceRun | None = None,
) -> CalibrationResult:
    """Posterior ensemble, predictions and diagnostics of a finished calibration.

    ``chain`` is the emcee run (stage 1); ``importance``, if given, the stage-2 draws that
    reweight it, and then the ensemble is resampled from them.
    """
    burn = config.sampler.burn_in
    diag = diagnostics(chain, burn)
    m = len(targets)
    isd: ImportanceDiagnostics | None = None
    comparison: pd.DataFrame | None = None
    if importance is None:
        draws, logp, blobs = posterior_arrays(chain, burn)
        idx = select_ensemble(chain, burn, config.ensemble_size, config.seed)
        diag_doc: dict[str, Any] = _emcee_diag(chain, diag)
        method = METHOD_EMCEE
    else:
        draws, logp, blobs = importance.theta, importance.log_post, importance.blobs
        sm = psis(importance.log_weights)
        idx = systematic_resample(sm.weights, config.ensemble_size, config.seed)
        isd = importance_diagnostics(importance, config.ensemble_size)
        s1 = posterior_arrays(chain, burn)[0]
        comparison = pd.DataFrame(weighted_summary(importance, sm.weights))
        comparison.insert(1, "stage1_mean", s1.mean(axis=0))
        comparison.insert(2, "stage1_sd", s1.std(axis=0, ddof=1) if len(s1) > 1 else np.nan)
        comparison["ensemble_distinct_draws"] = len(np.unique(idx))
        method = two_stage_method(config)
        diag_doc = {
            "converged": isd.converged,
            "criteria": (
                f"PSIS Pareto k-hat < min(1 - 1/log10(draws), 0.7) = {isd.khat_threshold:.3f} "
                f"and Kish ESS >= {isd.ess_required} (ensemble size)"
            ),
            "problems": isd.problems(),
            "n_evaluations": diag.n_evals + isd.n_evals,
            "importance": {
                "draws": isd.draws,
                "pareto_k": isd.pareto_k,
                "pareto_k_threshold": isd.khat_threshold,
                "ess": isd.ess,
                "ess_raw_weights": isd.ess_raw,
                "max_normalized_weight": isd.max_weight,
                "failed_draws": isd.failed_draws,
                "draws_from_prior_component": isd.from_prior,
                "distinct_draws_in_ensemble": len(np.unique(idx)),
                "n_evaluations": isd.n_evals,
                "wall_time_s": isd.elapsed_s,
                "proposal": config.importance.model_dump(mode="json")
                if config.importance is not None
                else None,
            },
            "stage1_emcee": {
                "note": "stage 1 only locates the posterior; its criteria need not pass",
                **_emcee_diag(chain, diag),
            },
        }
    values = blobs[idx, :m]
    mcse = blobs[idx, m:]
    df = pd.DataFrame(draws[idx], columns=list(chain.keys))
    df.insert(0, "draw", np.arange(len(idx)))
    df["log_posterior"] = logp[idx]
    meta: dict[str, Any] = {
        "name": config.name,
        "version": config.version,
        "config_sha256": config.digest(),
        "created_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "blinasim_version": __version__,
        "method": method,
        "free_parameters": list(chain.keys),
        "fit_targets": list(config.fit),
        "held_out_targets": list(config.hold_out),
        "seed": config.seed,
        "n_patients_per_evaluation": config.simulation.n_patients,
        "walkers": config.sampler.walkers,
        "steps": chain.steps,
        "burn_in": burn,
        "ensemble_size": len(idx),
        "diagnostics": diag_doc,
        "config": config.model_dump(mode="json"),
        "disclaimer": DISCLAIMER,
    }
    if importance is not None:
        meta["importance_draws"] = importance.draws
    ens = PosteriorEnsemble(draws=df, keys=chain.keys, meta=meta)
    table = predictive_table(targets, config.fit, values, mcse, config.predictive_seed)
    return CalibrationResult(
        config=config,
        ensemble=ens,
        predictions=table,
        diagnostics=diag,
        model_values=values,
        importance=isd,
        stage_comparison=comparison,
    )


def fresh_seed_check(
    result: CalibrationResult,
    targets: Sequence[Target],
    fresh_values: FloatArray,
    idx: Sequence[int],
) -> pd.DataFrame:
    """Compare the ensemble's predictions at the fitted seed with a fresh seed.

    Common random numbers fit one simulated cohort; a posterior that only fits that
    cohort's noise would move when re-simulated with another seed.
    """
    rows = []
    for j, t in enumerate(targets):
        a = result.model_values[list(idx), j]
        b = fresh_values[:, j]
        rows.append(
            {
                "target": t.id,
                "fitted_seed_mean": float(np.nanmean(a)),
                "fresh_seed_mean": float(np.nanmean(b)),
                "shift_in_published_se": float((np.nanmean(b) - np.nanmean(a)) / t.se),
            }
        )
    return pd.DataFrame(rows)


def warnings_for(table: pd.DataFrame) -> list[str]:
    """One warning per target outside its 95% posterior predictive interval."""
    out = []
    for _, r in table.iterrows():
        if not r["inside_ppi"]:
            out.append(
                f"{r['target']} ({r['used']}): published {r['published']:.4g} outside the 95% "
                f"predictive interval [{r['ppi_q025']:.4g}, {r['ppi_q975']:.4g}]"
            )
    return out


def portable_config(config: Any, out_dir: str | Path, *, name_only: bool = False) -> Any:
    """A config document without this machine's paths: the target file relative to ``out_dir``.

    ``blinasim calibrate check`` resolves a relative ``targets_file`` against the folder of
    the posterior (the sidecar keeps it usable when the folder moves with its inputs);
    ``name_only`` keeps just the file name (the report).
    """
    if not isinstance(config, dict) or not config.get("targets_file"):
        return config
    p = Path(str(config["targets_file"]))
    if name_only:
        return {**config, "targets_file": p.name}
    if not p.is_absolute():
        return config
    try:
        rel = os.path.relpath(p, Path(out_dir).resolve())
    except ValueError:  # pragma: no cover - another drive (Windows)
        rel = p.name
    return {**config, "targets_file": rel}


def write_outputs(
    result: CalibrationResult,
    out_dir: str | Path,
    *,
    curves: pd.DataFrame | None = None,
    timing: dict[str, float] | None = None,
    posterior_stem: str | None = None,
) -> dict[str, Path]:
    """Posterior CSV + JSON and ``report.json`` in ``out_dir``: everything the report shows.

    ``report.html`` (its path is returned as ``html``) is rendered from these files by
    :func:`blinasim.reports.render.write_report`, which the caller runs next.

    ``posterior_stem``: the posterior's file name without extension (default
    ``posterior_<name>_v<version>``; ``blinasim calibrate`` gives user runs their own name).
    No absolute path of this machine is written: the config's target file is given relative
    to ``out_dir`` in the posterior's sidecar (``calibrate check`` finds it) and by its name
    in the report.
    """
    out = Path(out_dir)
    meta = dict(result.ensemble.meta)
    meta["config"] = portable_config(meta.get("config"), out)
    ens = PosteriorEnsemble(draws=result.ensemble.draws, keys=result.ensemble.keys, meta=meta)
    paths = {"posterior": save_posterior(ens, out, posterior_stem)}
    tab = result.predictions
    conv = result.convergence_warnings()
    warns = [f"convergence: {w}" for w in conv] + warnings_for(tab)
    doc = {
        "config": portable_config(result.config.model_dump(mode="json"), out, name_only=True),
        "posterior": {**meta, "config": portable_config(meta.get("config"), out, name_only=True)},
        "parameters": result.ensemble.summary().to_dict(orient="records"),
        "targets": tab.to_dict(orient="records"),
        "warnings": warns,
        "converged": not conv,
        "timing": timing or {},
        "stage_comparison": (
            result.stage_comparison.to_dict(orient="records")
            if result.stage_comparison is not None
            else None
        ),
        "fresh_seed_check": (
            result.fresh_seed.to_dict(orient="records") if result.fresh_seed is not None else None
        ),
        "dfs_curves": curves.to_dict(orient="records") if curves is not None else None,
        "disclaimer": DISCLAIMER,
        "posterior_file": paths["posterior"].name,
    }
    paths["json"] = atomic_write_json(out / "report.json", doc)
    # rendered from this folder by blinasim.reports (the calibration job calls it next)
    paths["html"] = out / "report.html"
    return paths


__all__ = [
    "CalibrationResult",
    "build_result",
    "fresh_seed_check",
    "portable_config",
    "predictive_table",
    "warnings_for",
    "write_outputs",
]

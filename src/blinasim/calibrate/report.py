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
from blinasim.io.checkpoint import atomic_write_bytes, atomic_write_json

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


def _figures(result: CalibrationResult) -> dict[str, Any]:
    import matplotlib.pyplot as plt

    from blinasim.reports.figures import PALETTE, style

    figs: dict[str, Any] = {}
    tab = result.predictions
    with style():
        # published vs predicted, on the published-SE scale
        fig, ax = plt.subplots(figsize=(7.0, 0.9 + 0.2 * len(tab)))
        y = np.arange(len(tab))[::-1]
        for yi, (_, r) in zip(y, tab.iterrows(), strict=True):
            se = r["published_se"]
            lo = (r["ppi_q025"] - r["published"]) / se
            hi = (r["ppi_q975"] - r["published"]) / se
            mid = (r["predicted_mean"] - r["published"]) / se
            color = PALETTE[0] if r["used"] == "fit" else PALETTE[1]
            if np.isfinite([lo, hi, mid]).all():
                ax.plot([lo, hi], [yi, yi], color=color, lw=1.2)
                ax.plot([mid], [yi], "o", color=color, ms=3.5)
            ax.text(-9.6, yi, r["target"], fontsize=6.5, va="center", ha="left")
        ax.axvline(0, color="#333333", lw=0.8)
        for v in (-2, 2):
            ax.axvline(v, color="#999999", lw=0.6, ls="--")
        ax.set_xlim(-10, 6)
        ax.set_yticks([])
        ax.set_xlabel("(prediction - published) / published SE; bar = 95% predictive interval")
        ax.set_title("Targets: fitted (blue) and held out (orange)", loc="left")
        figs["targets"] = fig
        # marginals
        keys = result.ensemble.keys
        k = len(keys)
        cols = 3
        rows_ = math.ceil(k / cols)
        fig, axes = plt.subplots(rows_, cols, figsize=(7.2, 1.9 * rows_), squeeze=False)
        for i, key in enumerate(keys):
            ax = axes[i // cols][i % cols]
            ax.hist(result.ensemble.draws[key], bins=20, color=PALETTE[0], alpha=0.8)
            ax.set_title(key, fontsize=7)
            ax.tick_params(labelsize=6)
        for i in range(k, rows_ * cols):
            axes[i // cols][i % cols].axis("off")
        fig.tight_layout()
        figs["marginals"] = fig
        # correlations
        corr = result.ensemble.draws.loc[:, list(keys)].corr().to_numpy()
        fig, ax = plt.subplots(figsize=(6.0, 5.0))
        im = ax.imshow(corr, vmin=-1, vmax=1, cmap="RdBu_r")
        short = [key.split(".")[-1][:22] for key in keys]
        ax.set_xticks(range(k), short, rotation=60, ha="right", fontsize=6)
        ax.set_yticks(range(k), short, fontsize=6)
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{corr[i, j]:.2f}", ha="center", va="center", fontsize=5.5)
        fig.colorbar(im, ax=ax, shrink=0.8)
        ax.set_title("Posterior correlations", loc="left")
        ax.grid(False)
        fig.tight_layout()
        figs["correlations"] = fig
    return figs


def _curve_figure(curves: pd.DataFrame, table: pd.DataFrame) -> Any:
    """DFS by year from randomization per arm (ensemble mean and 95% band), published 3-y."""
    import matplotlib.pyplot as plt

    from blinasim.reports.figures import color_for, style

    pub = table.set_index("target")
    ids = {"all": "all", "SR-Average": "avg", "SR-High": "high"}
    with style():
        fig, axes = plt.subplots(1, 3, figsize=(9.0, 3.2), sharey=True)
        for ax, (stratum, short) in zip(axes, ids.items(), strict=True):
            for i, (arm, label, tshort) in enumerate(
                (
                    ("blinatumomab", "Blinatumomab + chemotherapy", "blina"),
                    ("chemotherapy", "Chemotherapy", "chemo"),
                )
            ):
                c = curves[(curves["stratum"] == stratum) & (curves["arm"] == arm)]
                x = np.concatenate([[0.0], c["years"].to_numpy(dtype=float)])
                y = np.concatenate([[1.0], c["mean"].to_numpy(dtype=float)])
                lo = np.concatenate([[1.0], c["q025"].to_numpy(dtype=float)])
                hi = np.concatenate([[1.0], c["q975"].to_numpy(dtype=float)])
                col = color_for(label, i)
                ax.plot(x, y, color=col, lw=1.4, label=label)
                ax.fill_between(x, lo, hi, color=col, alpha=0.2, lw=0)
                tid = f"dfs3_{short}_{tshort}"
                if tid in pub.index:
                    r = pub.loc[tid]
                    ax.errorbar(
                        [3.0],
                        [r["published"]],
                        yerr=[[2 * r["published_se"]], [2 * r["published_se"]]],
                        fmt="o",
                        color=col,
                        ms=4,
                        capsize=3,
                    )
            ax.set_title(stratum if stratum != "all" else "All randomized", loc="left")
            ax.set_xlabel("Years from randomization")
            ax.set_ylim(0.7, 1.0)
        axes[0].set_ylabel("Disease-free survival")
        axes[0].legend(fontsize=7, loc="lower left")
        fig.tight_layout()
    return fig


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
    """Posterior CSV + JSON, ``report.json`` and ``report.html`` in ``out_dir``.

    ``posterior_stem``: the posterior's file name without extension (default
    ``posterior_<name>_v<version>``; ``blinasim calibrate`` gives user runs their own name).
    No absolute path of this machine is written: the config's target file is given relative
    to ``out_dir`` in the posterior's sidecar (``calibrate check`` finds it) and by its name
    in the report.
    """
    from blinasim.reports.html import Section, render

    out = Path(out_dir)
    meta = dict(result.ensemble.meta)
    meta["config"] = portable_config(meta.get("config"), out)
    ens = PosteriorEnsemble(draws=result.ensemble.draws, keys=result.ensemble.keys, meta=meta)
    paths = {"posterior": save_posterior(ens, out, posterior_stem)}
    tab = result.predictions
    conv = result.convergence_warnings()
    warns = [f"convergence: {w}" for w in conv] + warnings_for(tab)
    d = result.diagnostics
    isd = result.importance
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
    }
    paths["json"] = atomic_write_json(out / "report.json", doc)
    figs = _figures(result)
    stage1 = "stage 1 (emcee) " if isd is not None else ""
    s_sum = Section("Summary", "What was fitted and how.")
    s_sum.kv(
        [
            ("posterior", result.ensemble.name),
            ("method", result.ensemble.meta["method"]),
            ("free parameters", len(result.ensemble.keys)),
            (
                "targets fitted / held out",
                f"{len(result.config.fit)} / {len(result.config.hold_out)}",
            ),
            ("patients per evaluation", result.config.simulation.n_patients),
            (
                "converged",
                "yes" if not conv else "NO: " + "; ".join(conv),
            ),
            (
                "evaluations (total)",
                d.n_evals + (isd.n_evals if isd is not None else 0),
            ),
        ]
        + [(f"time: {k}", f"{v:.1f} s") for k, v in (timing or {}).items()]
    )
    s_diag = Section(
        "Diagnostics",
        (
            "Stage 2 (importance sampling) makes the posterior: its criteria are PSIS "
            "Pareto k-hat below min(1 - 1/log10(draws), 0.7) (0.697 for 2,000 draws) and a Kish "
            "effective sample size at least the ensemble size. "
            "Stage 1 (emcee) only locates the posterior; its diagnostics are shown for "
            "information and need not pass."
            if isd is not None
            else "emcee convergence diagnostics (after burn-in)."
        ),
    )
    rows: list[tuple[str, Any]] = []
    if isd is not None:
        rows += [
            ("stage 2: draws (evaluations)", f"{isd.draws} ({isd.n_evals})"),
            (
                "stage 2: PSIS Pareto k-hat (threshold)",
                f"{isd.pareto_k:.3f} ({isd.khat_threshold:.3f})",
            ),
            ("stage 2: Kish ESS (smoothed / raw weights)", f"{isd.ess:.0f} / {isd.ess_raw:.0f}"),
            ("stage 2: ESS required (ensemble size)", isd.ess_required),
            ("stage 2: largest normalized weight", f"{isd.max_weight:.4f}"),
            ("stage 2: draws from the prior component", isd.from_prior),
            ("stage 2: draws without a finite posterior", isd.failed_draws),
            ("stage 2: wall time", f"{isd.elapsed_s / 60:.1f} min"),
        ]
    rows += [
        (
            f"{stage1}walkers x steps (burn-in)",
            f"{result.config.sampler.walkers} x {result.ensemble.meta['steps']} "
            f"({result.config.sampler.burn_in})",
        ),
        (f"{stage1}evaluations", d.n_evals),
        (f"{stage1}wall time", f"{d.elapsed_s / 60:.1f} min"),
        (f"{stage1}acceptance fraction", f"{d.acceptance_fraction:.2f}"),
        (f"{stage1}effective samples (emcee tau)", f"{d.effective_samples:.0f}"),
        (f"{stage1}chain shorter than 50 tau", d.chain_too_short),
        (
            f"{stage1}max split R-hat",
            f"{np.nanmax(d.rhat):.3f}" if np.isfinite(d.rhat).any() else "n/a",
        ),
    ]
    s_diag.kv(rows)
    if result.stage_comparison is not None:
        s_diag.table(
            result.stage_comparison,
            "Per parameter: mean and SD of the stage-1 walkers after burn-in next to the "
            "importance-weighted posterior (all stage-2 draws); a large difference is what "
            "stage 2 corrected.",
        )
    s_warn = Section(
        "Warnings",
        "Convergence criteria not met, and targets outside their 95% posterior predictive "
        "interval.",
    )
    s_warn.text("; ".join(warns) if warns else "None: converged, every target inside its interval.")
    s_t = Section(
        "Targets",
        "Published versus predicted. Model interval: 95% posterior interval of the simulated "
        "counterpart. Predictive interval: adds the trial's sampling noise. Flagged rows are "
        "outside their predictive interval.",
    )
    s_t.figure(figs["targets"], "Each target on its published-SE scale.")
    shown = tab.drop(columns=["source", "description"]).copy()
    shown["flag"] = ~tab["inside_ppi"]
    s_t.table(shown, "All targets.", flag_column="flag")
    s_p = Section("Posterior", "Marginal distributions and pairwise correlations of the ensemble.")
    s_p.table(result.ensemble.summary(), "Posterior summaries.")
    s_p.figure(figs["marginals"], "Posterior marginals.")
    s_p.figure(figs["correlations"], "Posterior correlations.")
    sections = [s_sum, s_warn, s_diag, s_t, s_p]
    if curves is not None:
        s_c = Section("DFS over time", "Posterior DFS by arm and year from randomization.")
        s_c.figure(
            _curve_figure(curves, tab),
            "Simulated DFS (ensemble mean, 95% band over members) and the published 3-year "
            "DFS ± 2 SE (points).",
        )
        s_c.table(curves, "Simulated DFS (mean and 95% interval over ensemble members).")
        sections.append(s_c)
    if result.fresh_seed is not None:
        s_f = Section(
            "Fresh-seed check",
            "Ensemble members re-simulated with another seed: shifts far below one published SE "
            "mean the fit is not an artefact of the common random numbers.",
        )
        s_f.table(result.fresh_seed, "Fitted seed versus fresh seed.")
        sections.append(s_f)
    html = render(
        f"Calibration {result.ensemble.name}",
        sections,
        subtitle="Mechanistic model calibrated to published AALL1731 results.",
    )
    paths["html"] = atomic_write_bytes(out / "report.html", html.encode("utf-8"))
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

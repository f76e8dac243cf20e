"""The HTML report of a calibration, from its results folder.

Reads ``report.json`` (configuration, posterior metadata with the diagnostics, parameter
summaries, the target table with each target's role, warnings, timings, stage comparison,
fresh-seed check, DFS curves) and the posterior CSV (the ensemble's draws, for the
marginals and correlations).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError
from blinasim.reports import tables
from blinasim.reports.figures import PALETTE, color_for, literal_legend, percent_axis, style
from blinasim.reports.folder import ResultsFolder
from blinasim.reports.html import Section, render


def targets_figure(tab: pd.DataFrame) -> Figure:
    """Each target on its published-SE scale: prediction and 95% predictive interval."""
    with style():
        fig = Figure(figsize=(7.0, 0.9 + 0.2 * len(tab)))
        ax = fig.add_subplot(1, 1, 1)
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
            ax.text(-9.6, yi, str(r["target"]), fontsize=6.5, va="center", ha="left")
        ax.axvline(0, color="#333333", lw=0.8)
        for v in (-2, 2):
            ax.axvline(v, color="#999999", lw=0.6, ls="--")
        ax.set_xlim(-10, 6)
        ax.set_yticks([])
        ax.set_xlabel("(prediction - published) / published SE; bar = 95% predictive interval")
        ax.set_title("Targets: fitted (blue) and held out (orange)", loc="left")
    return fig


def marginals_figure(draws: pd.DataFrame, keys: list[str]) -> Figure:
    """Histogram of every free parameter over the ensemble."""
    cols = 3
    rows = max(math.ceil(len(keys) / cols), 1)
    with style():
        fig = Figure(figsize=(7.2, 1.9 * rows))
        axes = fig.subplots(rows, cols, squeeze=False)
        for i, key in enumerate(keys):
            ax = axes[i // cols][i % cols]
            ax.hist(draws[key], bins=20, color=PALETTE[0], alpha=0.8)
            ax.set_title(key, fontsize=7, parse_math=False)
            ax.tick_params(labelsize=6)
        for i in range(len(keys), rows * cols):
            axes[i // cols][i % cols].axis("off")
        fig.tight_layout()
    return fig


def correlations_figure(draws: pd.DataFrame, keys: list[str]) -> Figure:
    """Pairwise correlations of the ensemble's draws."""
    corr = draws.loc[:, keys].corr().to_numpy()
    k = len(keys)
    with style():
        fig = Figure(figsize=(6.0, 5.0))
        ax = fig.add_subplot(1, 1, 1)
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
    return fig


def dfs_figure(curves: pd.DataFrame, tab: pd.DataFrame) -> Figure:
    """DFS by year from randomization per arm (ensemble mean and 95% band), published 3-y."""
    pub = tab.set_index("target")
    ids = {"all": "all", "SR-Average": "avg", "SR-High": "high"}
    arms = (
        ("blinatumomab", "Blinatumomab + chemotherapy", "blina"),
        ("chemotherapy", "Chemotherapy", "chemo"),
    )
    with style():
        fig = Figure(figsize=(9.0, 3.2))
        axes = fig.subplots(1, 3, sharey=True)
        for ax, (stratum, short) in zip(axes, ids.items(), strict=True):
            for i, (arm, name, tshort) in enumerate(arms):
                c = curves[(curves["stratum"] == stratum) & (curves["arm"] == arm)]
                x = np.concatenate([[0.0], c["years"].to_numpy(dtype=float)])
                y = np.concatenate([[1.0], c["mean"].to_numpy(dtype=float)])
                lo = np.concatenate([[1.0], c["q025"].to_numpy(dtype=float)])
                hi = np.concatenate([[1.0], c["q975"].to_numpy(dtype=float)])
                col = color_for(arm, i)
                ax.plot(x, y, color=col, lw=1.4, label=name)
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
            percent_axis(ax.yaxis)
        axes[0].set_ylabel("Disease-free survival")
        literal_legend(axes[0].legend(fontsize=7, loc="lower left"))
        fig.tight_layout()
    return fig


def _diagnostics(doc: dict[str, Any], cfg: dict[str, Any], post: dict[str, Any]) -> Section:
    d = post.get("diagnostics") or {}
    isd = d.get("importance")
    e = d.get("stage1_emcee", d) if isd is not None else d
    stage1 = "stage 1 (emcee) " if isd is not None else ""
    sec = Section(
        "Diagnostics",
        (
            "Stage 2 (importance sampling) makes the posterior: its criteria are "
            f"{d.get('criteria', 'PSIS Pareto k-hat and Kish ESS')}. Stage 1 (emcee) only "
            "locates the posterior; its diagnostics are shown for information and need not pass."
            if isd is not None
            else "emcee convergence diagnostics (after burn-in)."
        ),
    )
    rows: list[tuple[str, Any]] = []
    if isd is not None:
        rows += [
            ("stage 2: draws (evaluations)", f"{isd['draws']} ({isd['n_evaluations']})"),
            (
                "stage 2: PSIS Pareto k-hat (threshold)",
                f"{isd['pareto_k']:.3f} ({isd['pareto_k_threshold']:.3f})",
            ),
            (
                "stage 2: Kish ESS (smoothed / raw weights)",
                f"{isd['ess']:.0f} / {isd['ess_raw_weights']:.0f}",
            ),
            ("stage 2: ESS required (ensemble size)", post.get("ensemble_size")),
            ("stage 2: largest normalized weight", f"{isd['max_normalized_weight']:.4f}"),
            ("stage 2: draws from the prior component", isd["draws_from_prior_component"]),
            ("stage 2: draws without a finite posterior", isd["failed_draws"]),
            ("stage 2: wall time", f"{isd['wall_time_s'] / 60:.1f} min"),
        ]
    rhat = [v for v in (e.get("split_rhat") or {}).values() if v is not None]
    sampler = cfg.get("sampler", {})
    rows += [
        (
            f"{stage1}walkers x steps (burn-in)",
            f"{sampler.get('walkers')} x {post.get('steps')} ({sampler.get('burn_in')})",
        ),
        (f"{stage1}evaluations", e.get("n_evaluations")),
        (f"{stage1}wall time", f"{(e.get('sampler_wall_time_s') or 0) / 60:.1f} min"),
        (f"{stage1}acceptance fraction", f"{e.get('acceptance_fraction', float('nan')):.2f}"),
        (f"{stage1}effective samples (emcee tau)", f"{e.get('effective_samples', 0):.0f}"),
        (f"{stage1}chain shorter than 50 tau", e.get("chain_shorter_than_50_tau")),
        (f"{stage1}max split R-hat", f"{max(rhat):.3f}" if rhat else "n/a"),
    ]
    sec.kv(rows)
    if doc.get("stage_comparison"):
        sec.table(
            pd.DataFrame(doc["stage_comparison"]),
            "Per parameter: mean and SD of the stage-1 walkers after burn-in next to the "
            "importance-weighted posterior (all stage-2 draws); a large difference is what "
            "stage 2 corrected.",
        )
    return sec


def _draws(folder: ResultsFolder, doc: dict[str, Any]) -> pd.DataFrame:
    name = doc.get("posterior_file")
    found = [folder.path / name] if name else sorted(folder.path.glob("posterior_*.csv"))
    if not found or not found[0].is_file():
        raise InputError("the posterior CSV of the calibration", file=folder.path)
    return pd.read_csv(found[0])


def render_calibration(folder: ResultsFolder) -> str:
    """The calibration report's HTML, from its results folder."""
    doc = folder.json("report.json")
    post = doc["posterior"]
    cfg = doc["config"]
    tab = pd.DataFrame(doc["targets"])
    keys = list(post["free_parameters"])
    draws = _draws(folder, doc)
    name = f"{post.get('name', '?')} v{post.get('version', '?')}"
    warns = list(doc.get("warnings") or [])
    conv = [w.removeprefix("convergence: ") for w in warns if w.startswith("convergence: ")]
    d = post.get("diagnostics") or {}
    s_sum = Section("Summary", "What was fitted and how.").kv(
        [
            ("posterior", name),
            ("method", post["method"]),
            ("free parameters", len(keys)),
            ("targets fitted / held out", f"{len(cfg['fit'])} / {len(cfg['hold_out'])}"),
            ("patients per evaluation", cfg["simulation"]["n_patients"]),
            ("converged", "yes" if doc.get("converged") else "NO: " + "; ".join(conv)),
            ("evaluations (total)", d.get("n_evaluations")),
        ]
        + [(f"time: {k}", f"{v:.1f} s") for k, v in (doc.get("timing") or {}).items()]
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
        "outside their predictive interval. " + tables.ROLE_NOTE,
    )
    s_t.figure(targets_figure(tab), "Each target on its published-SE scale.")
    shown = tab.drop(columns=[c for c in ("source", "description") if c in tab]).copy()
    if "role" in shown:
        shown["role"] = [tables.label(r) for r in shown["role"]]
    shown["flag"] = ~tab["inside_ppi"].astype(bool)
    s_t.table(shown, "All targets.", flag_column="flag")
    s_p = Section("Posterior", "Marginal distributions and pairwise correlations of the ensemble.")
    s_p.table(pd.DataFrame(doc["parameters"]), "Posterior summaries.")
    s_p.figure(marginals_figure(draws, keys), "Posterior marginals.")
    s_p.figure(correlations_figure(draws, keys), "Posterior correlations.")
    sections = [s_sum, s_warn, _diagnostics(doc, cfg, post), s_t, s_p]
    if doc.get("dfs_curves"):
        curves = pd.DataFrame(doc["dfs_curves"])
        s_c = Section("DFS over time", "Posterior DFS by arm and year from randomization.")
        s_c.figure(
            dfs_figure(curves, tab),
            "Simulated DFS (ensemble mean, 95% band over members) and the published 3-year "
            "DFS ± 2 SE (points). The y axis starts at 70%.",
        )
        s_c.table(curves, "Simulated DFS (mean and 95% interval over ensemble members).")
        sections.append(s_c)
    if doc.get("fresh_seed_check"):
        s_f = Section(
            "Fresh-seed check",
            "Ensemble members re-simulated with another seed: shifts far below one published SE "
            "mean the fit is not an artefact of the common random numbers.",
        )
        s_f.table(pd.DataFrame(doc["fresh_seed_check"]), "Fitted seed versus fresh seed.")
        sections.append(s_f)
    return render(
        f"Calibration {name}",
        sections,
        subtitle="Mechanistic model calibrated to published AALL1731 results.",
        disclaimer=doc.get("disclaimer") or DISCLAIMER,
    )


__all__ = ["render_calibration"]

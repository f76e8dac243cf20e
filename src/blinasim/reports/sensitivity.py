"""Files of a sensitivity analysis (``blinasim calibrate sensitivity``).

:func:`write_sensitivity` writes into the output folder:

* ``sensitivity_evaluations.parquet``: every evaluation (base point, noise seeds, design):
  unit coordinates, parameter values, every key output and its Monte Carlo SE;
* ``sensitivity.json``: settings, outputs (base value, noise, published SE, threshold),
  indices per factor and output, verdicts, the rule and the disclaimer;
* ``sensitivity.md`` and ``sensitivity.html``: the summary, with a tornado-like chart of each
  output's largest effects relative to its threshold (matplotlib, embedded in the HTML,
  ``sensitivity.png`` beside it).
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from blinasim.calibrate.sensitivity import EPS, SensitivityResult
from blinasim.calibrate.sensitivity_indices import REL_THRESHOLD, RULE
from blinasim.disclaimer import DISCLAIMER
from blinasim.io.checkpoint import atomic_write_bytes, write_results_json
from blinasim.reports.figures import PALETTE, literal, style, to_png_base64

TOP = 10
"""Factors shown per output in the chart."""
VERDICT_COLORS = {
    "matters": PALETTE[1],
    "unclear": PALETTE[6],
    "does not matter": PALETTE[0],
    "not read": "#999999",
}


_COLOR_NAMES = {
    "matters": "vermillion",
    "unclear": "yellow",
    "does not matter": "blue",
    "not read": "grey",
}


def _num(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{float(x):.{digits}g}"


def summary_doc(res: SensitivityResult) -> dict[str, Any]:
    """The JSON document of a run (also what the markdown and HTML are made from)."""
    s = res.settings
    return {
        "kind": "blinasim sensitivity analysis",
        "config": res.config_name,
        "method": s.method,
        "trajectories_or_samples": s.r(),
        "n_patients": res.n_patients,
        "design_seed": s.seed,
        "noise_seeds": s.noise_seeds,
        "posterior": s.posterior,
        "evaluations": len(res.evaluations),
        "elapsed_s": res.elapsed_s,
        "prior_range": f"central {100 * (1 - 2 * EPS):g}% of each prior",
        "threshold_fraction": REL_THRESHOLD,
        "rule": RULE,
        "factors": [
            {"key": f.key, "prior": f.prior.model_dump(), "value": f.default} for f in res.factors
        ],
        "fixed": res.fixed,
        "outputs": res.outputs.to_dict(orient="records"),
        "indices": res.indices.to_dict(orient="records"),
        "factor_verdicts": [
            {**r, "provenance": res.provenance.get(str(r["factor"]), "")}
            for r in res.factor_verdicts.to_dict(orient="records")
        ],
        "disclaimer": DISCLAIMER,
    }


def tornado(res: SensitivityResult) -> Figure:
    """Per output, the ``TOP`` largest effects (upper CI) relative to the output's threshold."""
    outs = list(res.outputs["output"])
    ncol = 3
    nrow = max(1, math.ceil(len(outs) / ncol))
    with style():
        fig = Figure(figsize=(4.2 * ncol, 2.6 * nrow), layout="constrained")
        axes = fig.subplots(nrow, ncol, squeeze=False)
        for ax, oid in zip(axes.flat, outs, strict=False):
            d = res.indices[res.indices["output"] == oid].copy()
            d["key"] = d["ratio"].fillna(-1.0)
            d = d.sort_values("key", ascending=False).head(TOP).iloc[::-1]
            tau = float(d["tau"].iloc[0]) if len(d) else math.nan
            eff = (d["effect"] / tau).to_numpy(dtype=float) if tau > 0 else np.zeros(len(d))
            up = (d["effect_upper"] / tau).to_numpy(dtype=float) if tau > 0 else np.zeros(len(d))
            y = np.arange(len(d))
            colors = [VERDICT_COLORS.get(str(v), "#000000") for v in d["verdict"]]
            ax.barh(y, eff, color=colors)
            ax.errorbar(
                up, y, xerr=[up - eff, np.zeros_like(up)], fmt="none", ecolor="#333333", lw=0.8
            )
            ax.axvline(1.0, color="#000000", lw=0.8, ls="--")
            ax.set_yticks(y)
            labels = ax.set_yticklabels([str(k) for k in d["factor"]], fontsize=6)
            literal(
                *labels, ax.set_title(oid, fontsize=8), ax.set_xlabel("effect / tau", fontsize=7)
            )
            ax.set_xscale("symlog", linthresh=1.0)
            top = max(float(np.nanmax(up)) if len(up) else 1.0, 1.0)
            ticks = [t for t in (0, 0.5, 1, 2, 5, 10, 20, 50, 100) if t <= 1.2 * top]
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        for ax in list(axes.flat)[len(outs) :]:
            ax.set_visible(False)
        key = ", ".join(f"{c}: {v}" for v, c in _COLOR_NAMES.items())
        literal(
            fig.suptitle(
                f"Largest effects relative to each output's threshold tau (dashed: 1); {key}",
                fontsize=8,
            )
        )
    return fig


def _outputs_md(res: SensitivityResult) -> list[str]:
    lines = [
        "| output | base value | Monte Carlo SE | SD over seeds | published SE (target) | tau |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in res.outputs.iterrows():
        pub = _num(r["published_se"])
        if r["published_target"]:
            pub += f" ({r['published_target']})"
        lines.append(
            f"| {r['output']} | {_num(r['base_value'], 4)} | {_num(r['mc_se'], 2)} | "
            f"{_num(r['seed_sd'], 2)} | {pub} | {_num(r['tau'], 2)} |"
        )
    return lines


def top_md(res: SensitivityResult, top: int = 4) -> list[str]:
    """Per output: its noise, threshold and largest effects (upper CI) next to each other."""
    name = "mu*" if res.settings.method == "morris" else "effect"
    lines = [
        f"| output | Monte Carlo SE | SD over seeds | tau | largest {name} [95% CI upper] |",
        "|---|---|---|---|---|",
    ]
    for _, o in res.outputs.iterrows():
        d = res.indices[res.indices["output"] == o["output"]]
        d = d.sort_values("effect", ascending=False).head(top)
        eff = "; ".join(
            f"`{r['factor']}` {_num(r['effect'], 2)} [{_num(r['effect_upper'], 2)}]"
            for _, r in d.iterrows()
        )
        lines.append(
            f"| {o['output']} | {_num(o['mc_se'], 2)} | {_num(o['seed_sd'], 2)} | "
            f"{_num(o['tau'], 2)} | {eff} |"
        )
    return lines


def _cell(d: pd.DataFrame, factor: str, oid: str) -> str:
    row = d[(d["factor"] == factor) & (d["output"] == oid)].iloc[0]
    mark = {"matters": " **M**", "unclear": " ?", "does not matter": "", "not read": ""}
    if row["verdict"] == "not read":
        return "0"
    return f"{_num(row['ratio'], 2)}{mark[str(row['verdict'])]}"


def factors_md(res: SensitivityResult) -> list[str]:
    """The results table: each factor's verdict and effect upper CI / tau per output."""
    outs = list(res.outputs["output"])
    head = "| factor | provenance | verdict | " + " | ".join(outs) + " |"
    lines = [head, "|---|---|---|" + "---|" * len(outs)]
    order = {"matters": 0, "unclear": 1, "does not matter": 2, "not read": 3}
    fv = res.factor_verdicts.assign(o=res.factor_verdicts["verdict"].map(order))
    fv = fv.sort_values(["o", "max_ratio"], ascending=[True, False])
    for _, r in fv.iterrows():
        cells = " | ".join(_cell(res.indices, str(r["factor"]), o) for o in outs)
        prov = res.provenance.get(str(r["factor"]), "")
        lines.append(f"| `{r['factor']}` | {prov} | {r['verdict']} | {cells} |")
    return lines


def markdown(res: SensitivityResult) -> str:
    """The summary as markdown."""
    s = res.settings
    counts = res.factor_verdicts["verdict"].value_counts()
    lines = [
        f"# Sensitivity analysis: {res.config_name}",
        "",
        f"*{DISCLAIMER}*",
        "",
        f"Method {s.method} ({s.r()} {'trajectories' if s.method == 'morris' else 'base samples'}"
        f", design seed {s.seed}), {len(res.factors)} factors over the central "
        f"{100 * (1 - 2 * EPS):g}% of their priors, {res.n_patients:,} children per "
        f"evaluation, {len(res.evaluations)} evaluations, {res.elapsed_s:.0f} s of evaluation "
        "wall time.",
        "",
        "Verdicts: " + ", ".join(f"{v} {int(counts.get(v, 0))}" for v in VERDICT_COLORS) + ".",
        "",
        f"**Rule.** {RULE}",
        "",
        "## Outputs",
        "",
        *_outputs_md(res),
        "",
        "## Largest effects",
        "",
        *top_md(res),
        "",
        "## Factors",
        "",
        "![effect / tau per output](sensitivity.png)",
        "",
        "Cells: upper end of the effect's 95% CI divided by tau (below 1: does not matter "
        "for that output; **M**: matters, ?: unclear; 0: not read).",
        "",
        *factors_md(res),
        "",
    ]
    return "\n".join(lines)


def _plain(cell: str) -> str:
    return html.escape(cell.replace("**", "").strip("`*"))


def _html(res: SensitivityResult, md: str, png: str) -> str:
    body = []
    in_table = False
    for line in md.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set("".join(cells)) <= {"-"}:
                continue
            tag = "th" if not in_table else "td"
            if not in_table:
                body.append("<table>")
                in_table = True
            body.append(
                "<tr>"
                + "".join(
                    f"<{tag}>{html.escape(c.replace('**', '').strip('`*'))}</{tag}>" for c in cells
                )
                + "</tr>"
            )
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
            if line == "## Factors":
                body.append(f'<img alt="effects relative to thresholds" src="{png}" width="100%">')
        elif line.startswith("!["):
            continue
        elif line:
            body.append(f"<p>{html.escape(line.replace('**', '').strip('*'))}</p>")
    if in_table:
        body.append("</table>")
    css = (
        "body{font-family:sans-serif;max-width:1200px;margin:2em auto;font-size:14px}"
        "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;"
        "padding:2px 6px;text-align:left}"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Sensitivity analysis: {html.escape(res.config_name)}</title>"
        f"<style>{css}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )


def write_sensitivity(res: SensitivityResult, out_dir: str | Path) -> dict[str, Path]:
    """Write the Parquet, JSON, PNG, markdown and HTML files; returns their paths."""
    d = Path(out_dir)
    buf = io.BytesIO()
    res.evaluations.to_parquet(buf, index=False)
    paths = {
        "parquet": atomic_write_bytes(d / "sensitivity_evaluations.parquet", buf.getvalue()),
        "json": write_results_json(d / "sensitivity.json", summary_doc(res)),
    }
    png = to_png_base64(tornado(res))
    paths["png"] = atomic_write_bytes(d / "sensitivity.png", base64.b64decode(png.split(",", 1)[1]))
    md = markdown(res)
    paths["markdown"] = atomic_write_bytes(d / "sensitivity.md", md.encode("utf-8"))
    paths["html"] = atomic_write_bytes(d / "sensitivity.html", _html(res, md, png).encode("utf-8"))
    return paths


__all__ = ["factors_md", "markdown", "summary_doc", "top_md", "tornado", "write_sensitivity"]

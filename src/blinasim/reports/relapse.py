"""The report of a relapse-trial run (``blinasim run aall1331`` / ``blinasim run 20120215``).

Rendered from the results folder only: ``summary.json`` (milestones, hazard ratios, MRD
after cycle 1, transplanted share, over simulated trials of the published size) and, when
the folder has it, ``patients.parquet`` (one row per randomized child per simulated trial:
``replicate``, ``arm`` and, in days from randomization, ``endpoint_days``/``endpoint_event``,
``os_days``/``os_event``, ``hsct_day``, ``relapse2_day``, ``cart_day``, ``death_day``) for the
Kaplan-Meier curves and the event history. The published values are the held-out targets of
``data/targets/relapse_trials.yaml``, shown with their role: these trials are predicted,
never fitted.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from blinasim.reports import curves, figures
from blinasim.reports.folder import ResultsFolder
from blinasim.reports.html import Section, render
from blinasim.reports.occupancy import DEAD, occupancy, occupancy_figure
from blinasim.targets import Target, load_targets
from blinasim.units import DAYS_PER_YEAR

ARMS = ("blinatumomab", "chemotherapy")
PATIENT_COLUMNS = (
    "replicate", "arm", "endpoint_days", "endpoint_event", "os_days", "os_event",
    "hsct_day", "relapse2_day", "cart_day", "death_day",
)  # fmt: skip
START = "second remission, no transplant"
STATES = {
    "hsct_day": "after HSCT",
    "relapse2_day": "after second relapse",
    "cart_day": "after CAR-T",
}


def _pct(d: dict[str, Any] | float | None) -> str:
    if d is None:
        return "–"
    if isinstance(d, dict):
        est, lo, hi = d.get("estimate"), d.get("lower"), d.get("upper")
        if est is None:
            return "–"
        if lo is None or hi is None:
            return f"{100 * est:.1f}%"
        return f"{100 * est:.1f}% ({100 * lo:.1f}-{100 * hi:.1f})"
    return f"{100 * float(d):.1f}%"


def _targets(trial: str) -> list[Target]:
    path = resources.files("blinasim") / "data" / "targets" / "relapse_trials.yaml"
    ts = load_targets(str(path))
    return [t for t in ts.targets if t.study.lower().startswith(trial.lower())]


def _hsct_interval(pts: pd.DataFrame | None, arm: str) -> tuple[float, float] | None:
    if pts is None or pts.empty:
        return None
    d = pts[pts["arm"] == arm]
    per = np.isfinite(d["hsct_day"].to_numpy(dtype=float)).astype(float)
    shares = pd.Series(per).groupby(d["replicate"].to_numpy()).mean().to_numpy()
    if shares.size < 2:
        return None
    lo, hi = np.quantile(shares, [0.025, 0.975])
    return float(lo), float(hi)


def _model_value(
    t: Target, s: dict[str, Any], pts: pd.DataFrame | None
) -> tuple[str, tuple[float, float] | None]:
    """The prediction matching target ``t`` (text) and its 95% interval over trials."""
    q = t.quantity
    if q in ("dfs", "efs", "os") and t.time_years is not None:
        for m in s.get("milestones", []):
            if (m["endpoint"], m["arm"], float(m["years"])) == (q, t.arm, float(t.time_years)):
                return _pct(m), (m["lower"], m["upper"])
        return "not predicted", None
    if q == "hazard_ratio":
        # the target names its endpoint first in its description ("EFS hazard ratio", "OS ...")
        words = t.description.lower().split()
        ep = words[0] if words and words[0] in s.get("hazard_ratio", {}) else None
        h = s.get("hazard_ratio", {}).get(ep) if ep else None
        if h is None:
            return "not predicted", None
        return f"{h['estimate']:.2f} ({h['lower']:.2f}-{h['upper']:.2f})", (h["lower"], h["upper"])
    if q == "mrd_response" and t.arm is not None:
        d = s.get("mrd_negative_after_cycle1", {}).get(t.arm)
        return _pct(d), None if d is None else (d["lower"], d["upper"])
    if q == "hsct" and t.arm is not None:
        v = s.get("hsct", {}).get(t.arm)
        iv = _hsct_interval(pts, t.arm)
        if v is None or iv is None:
            return _pct(v), iv
        return f"{100 * v:.1f}% ({100 * iv[0]:.1f}-{100 * iv[1]:.1f})", iv
    return "not predicted", None


def published_table(trial: str, s: dict[str, Any], pts: pd.DataFrame | None) -> pd.DataFrame:
    """Predicted against published: every target of the trial with its role."""
    rows = []
    for t in _targets(trial):
        text, iv = _model_value(t, s, pts)
        pub = f"{t.estimate:.2f}" if t.quantity == "hazard_ratio" else f"{100 * t.estimate:.1f}%"
        verdict = "–"
        if iv is not None:
            verdict = "inside" if iv[0] <= t.estimate <= iv[1] else "outside"
        rows.append(
            {
                "target": t.description,
                "arm": t.arm or "both",
                "published": pub,
                "model (95% of trials)": text,
                "published inside": verdict,
                "role": t.role.replace("_", " "),
                "source": t.source,
                "_miss": verdict == "outside",
            }
        )
    return pd.DataFrame(rows)


def milestone_table(s: dict[str, Any]) -> pd.DataFrame:
    """Endpoint x years rows, one column per arm."""
    ms = s.get("milestones", [])
    keys = sorted({(m["endpoint"], int(m["years"])) for m in ms}, key=lambda k: (k[0] == "os", k))
    rows = []
    for ep, y in keys:
        row: dict[str, Any] = {"": f"{ep.upper()} at {y} year{'s' if y > 1 else ''}"}
        for a in ARMS:
            hit = [m for m in ms if (m["endpoint"], int(m["years"]), m["arm"]) == (ep, y, a)]
            row[a] = _pct(hit[0]) if hit else "–"
        rows.append(row)
    return pd.DataFrame(rows)


def _km_section(pts: pd.DataFrame | None, endpoint: str) -> Section:
    sec = Section(
        "Survival curves",
        lead="Kaplan-Meier estimates per arm from randomization, pooled over the simulated "
        "trials, with the 2.5-97.5% band of one trial's curve; administratively censored at 3 "
        "years.",
    )
    if pts is None or pts.empty:
        sec.text("This run's folder has no patients table (made by an earlier version).")
        return sec
    for col, ev, name in (
        ("endpoint_days", "endpoint_event", endpoint.upper()),
        ("os_days", "os_event", "Overall survival"),
    ):
        cs = curves.km_curves(
            pts, group="arm", time=col, event=ev, order=ARMS, replicate="replicate",
            band="predictive",
        )  # fmt: skip
        xmax = 3.0
        sec.figure(
            figures.step_plot(
                cs,
                title=name,
                ylabel="Probability",
                xlabel="Years since randomization",
                xmax=xmax,
                ylim=(curves.survival_floor(cs, xmax_days=xmax * DAYS_PER_YEAR), 1.0),
            ),
            f"{name} per arm (model).",
        )
    return sec


def _history_section(pts: pd.DataFrame | None) -> Section:
    sec = Section(
        "Event history",
        lead="State occupancy after randomization: the share of children in second remission "
        "without a transplant, after an allogeneic HSCT, after a second relapse (or "
        "refractory disease), after CAR-T, or dead, from each child's model history (not "
        "censored). A model, not medical advice.",
    )
    if pts is None or pts.empty:
        sec.text("This run's folder has no patients table (made by an earlier version).")
        return sec
    grid = np.linspace(0.0, 3.0, 73)
    panels = {}
    for a in ARMS:
        d = pts[pts["arm"] == a]
        if d.empty:
            continue
        ev = {label: d[col].to_numpy(dtype=float) for col, label in STATES.items()}
        panels[a] = occupancy(
            ev, d["death_day"].to_numpy(dtype=float), grid * DAYS_PER_YEAR, start=START
        )
    if panels:
        sec.figure(
            occupancy_figure(
                panels,
                grid,
                title="State",
                xlabel="Years since randomization",
                order=[START, *STATES.values(), DEAD],
            ),
            "Share of randomized children in each state, pooled over the simulated trials.",
        )
    return sec


def render_relapse(folder: ResultsFolder) -> str:
    """The relapse-trial report's HTML, from the run's results folder."""
    s = folder.json("summary.json")
    trial = str(s.get("trial") or folder.manifest.get("trial"))
    pts = folder.table("patients", PATIENT_COLUMNS) if folder.has("patients.parquet") else None
    endpoint = str(s.get("endpoint") or next(iter(s.get("hazard_ratio", {"dfs": 0}))))
    run = s.get("run", {})
    overview = Section(
        "Overview",
        lead=str(s.get("what", "")) + " " + str(s.get("interval", "")),
    ).kv(
        [
            ("trial", s.get("title", trial)),
            ("simulated trials", s.get("replicates")),
            (
                "randomized per arm",
                ", ".join(f"{k} {v}" for k, v in s.get("n_per_arm", {}).items()),
            ),
            ("seed", run.get("seed")),
            ("parameters", run.get("params") or "shipped point values"),
            ("blinasim", run.get("version")),
        ]
    )
    ms = Section("Milestones", lead="Per arm, from randomization; mean and 95% of trials.")
    ms.table(milestone_table(s))
    hr = Section("Hazard ratios", lead="Blinatumomab vs chemotherapy (Cox, per trial).")
    hr.table(
        pd.DataFrame(
            [
                {"endpoint": ep.upper(), "hazard ratio": f"{h['estimate']:.2f}",
                 "95% of trials": f"{h['lower']:.2f}-{h['upper']:.2f}"}
                for ep, h in s.get("hazard_ratio", {}).items()
            ]
        )
    )  # fmt: skip
    resp = Section("MRD and transplant", lead="Per arm; 95% of trials where available.")
    resp.table(
        pd.DataFrame(
            [
                {
                    "": "MRD-negative (< 0.01%) after cycle 1",
                    **{a: _pct(s.get("mrd_negative_after_cycle1", {}).get(a)) for a in ARMS},
                },
                {"": "allogeneic HSCT", **{a: _pct(s.get("hsct", {}).get(a)) for a in ARMS}},
            ]
        )
    )
    pub = Section(
        "Predicted vs published",
        lead="Published results of the trial (data/targets/relapse_trials.yaml) beside the "
        "model's prediction; held out: no parameter was set from them. Flagged: published "
        "value outside the model's 95% range of one trial of the published size.",
    )
    table = published_table(trial, s, pts)
    if table.empty:
        pub.text("No published result of this trial is in the target file.")
    else:
        pub.table(table, flag_column="_miss", wrap=True)
    sections = [overview, ms, hr, resp, pub, _km_section(pts, endpoint), _history_section(pts)]
    return render(
        f"{s.get('title', trial)}: predicted by the salvage pathway",
        sections,
        subtitle="A relapse trial predicted, never fitted (blinasim run " + trial + ").",
    )

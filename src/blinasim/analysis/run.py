"""Analyse an ADTTE file (or table) end to end: statistics and the results folder.

The folder (``summary.json``, ``data.parquet``: the analysed rows, ``manifest.json``) holds
everything the report shows; :mod:`blinasim.jobs.analyze` renders ``report.html`` from it.

The reference arm is given or recognised (:mod:`blinasim.analysis.arms`), never guessed; a
file of several simulated trials is analysed trial by trial and pooled; the outputs carry
the simulation disclaimer only when the data are blinasim's simulations, and a statement
on the analysis of real data otherwise.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from blinasim._version import __version__
from blinasim.analysis.arms import ControlArm, resolve_control
from blinasim.analysis.core import EndpointAnalysis, analyze_endpoint
from blinasim.analysis.extrapolation import extrapolation_fits
from blinasim.analysis.nph import nph_tests
from blinasim.analysis.outputs import (
    claim_out_dir,
    shown_path,
    timestamped,
    write_run_manifest,
)
from blinasim.analysis.read import check_table_path, read_table, validate_adtte
from blinasim.disclaimer import DISCLAIMER, real_data_statement
from blinasim.errors import BlinasimError, InputError
from blinasim.io.checkpoint import write_results_json
from blinasim.io.results import write_tables
from blinasim.units import DAYS_PER_YEAR

ENDPOINT_ORDER = ("DFS", "EFS", "OS")


def veteran_adtte() -> pd.DataFrame:
    """R's ``survival::veteran`` trial (bundled) as an ADTTE table.

    TRT01P standard/test chemotherapy, STRATUM the tumour cell type, PARAMCD ``OS``.
    """
    path = Path(str(resources.files("blinasim") / "data" / "examples" / "veteran.csv"))
    v = pd.read_csv(path)
    return pd.DataFrame(
        {
            "USUBJID": [f"VA-{i + 1:03d}" for i in range(len(v))],
            "PARAMCD": "OS",
            "PARAM": "Overall survival",
            "TRT01P": np.where(v["trt"] == 1, "standard", "test"),
            "STRATUM": v["celltype"].astype(str),
            "AVAL": v["time"].astype(float),
            "CNSR": 1 - v["status"].astype(int),
            "EVNTDESC": np.where(v["status"] == 1, "DEATH", ""),
            "CNSDTDSC": np.where(v["status"] == 0, "LAST KNOWN ALIVE", ""),
        }
    )


# kinds of blinasim runs whose manifest lists the ADTTE file they wrote (simulated data)
SIMULATION_KINDS = ("aall1731-replication", "trial.run", "trial.replicate")


@dataclass(frozen=True)
class DataOrigin:
    """Real or simulated data, and how that was told."""

    simulated: bool
    reason: str

    def statement(self, source: str) -> str:
        """The disclaimer (simulations) or the real-data statement the outputs carry."""
        return DISCLAIMER if self.simulated else real_data_statement(source)


def data_origin(path: Path | None, columns: Sequence[str]) -> DataOrigin:
    """Real or simulated data.

    Simulated if a blinasim run's ``manifest.json`` beside the file lists it, or the table
    has blinasim's ``REPLICATE`` column (ADaM has no such variable); real otherwise.
    """
    if path is not None:
        man = path.parent / "manifest.json"
        try:
            doc = json.loads(man.read_text(encoding="utf-8")) if man.is_file() else None
        except (OSError, ValueError):
            doc = None
        if isinstance(doc, dict) and doc.get("kind") in SIMULATION_KINDS:
            files = doc.get("files")
            if isinstance(files, dict) and path.name in {str(v) for v in files.values()}:
                return DataOrigin(True, f"written by blinasim ({doc['kind']}, manifest.json)")
    if "REPLICATE" in {str(c).upper() for c in columns}:
        return DataOrigin(True, "REPLICATE column of blinasim's simulated ADTTE")
    return DataOrigin(False, "no blinasim manifest or REPLICATE column")


@dataclass(frozen=True, eq=False)
class PooledEndpoint:
    """One endpoint of a file of several simulated trials: each analysed, then pooled.

    ``per_replicate`` has one row per trial; ``pooled`` one row per quantity with the mean
    and the 2.5% and 97.5% quantiles across the trials where it is estimable.
    """

    paramcd: str
    control: str
    treatment: str
    milestone_days: float
    replicate_column: str
    per_replicate: pd.DataFrame
    pooled: pd.DataFrame
    data: pd.DataFrame
    treatments: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "paramcd": self.paramcd,
            "control": self.control,
            "treatment": self.treatment,
            "milestone_days": self.milestone_days,
            "replicates": len(self.per_replicate),
            "replicate_column": self.replicate_column,
            "pooled": self.pooled.to_dict(orient="records"),
            "per_replicate": self.per_replicate.to_dict(orient="records"),
            **({"treatments": list(self.treatments)} if self.treatments else {}),
        }


@dataclass(frozen=True, eq=False)
class AnalysisRun:
    """The analyses of every endpoint of one data set, and where they were written.

    For a file of several simulated trials ``analyses`` is empty and ``pooled`` holds the
    per-trial and pooled results.
    """

    source: str
    analyses: tuple[EndpointAnalysis, ...]
    out_dir: Path | None
    control: ControlArm = field(default_factory=lambda: ControlArm("", ""))
    origin: DataOrigin = field(default_factory=lambda: DataOrigin(False, ""))
    pooled: tuple[PooledEndpoint, ...] = ()
    replicate_column: str | None = None

    @property
    def statement(self) -> str:
        """The disclaimer or real-data statement that every output carries."""
        return self.origin.statement(self.source)

    def lines(self) -> list[str]:
        """The first lines of the terminal output: reference arm, data, replicates."""
        out = [self.control.line()]
        kind = "simulated" if self.origin.simulated else "real"
        out.append(f"data: {self.source} ({kind}: {self.origin.reason})")
        if self.pooled:
            r = len(self.pooled[0].per_replicate)
            out.append(
                f"{r} replicates ({self.replicate_column}) analysed one by one and pooled: "
                "mean and 2.5%-97.5% quantiles across replicates"
            )
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary of every endpoint."""
        out: dict[str, Any] = {
            "blinasim_version": __version__,
            "source": self.source,
            "disclaimer": self.statement,
            "data": "simulated" if self.origin.simulated else "real",
            "data_origin": self.origin.reason,
            "reference_arm": {"arm": self.control.arm, "reason": self.control.reason},
        }
        if self.pooled:
            out["replicate_column"] = self.replicate_column
            out["endpoints"] = {p.paramcd: p.summary() for p in self.pooled}
        else:
            out["endpoints"] = {a.paramcd: a.summary() for a in self.analyses}
        return out


def check_years(milestone_years: float, tau_years: float | None) -> None:
    """One line for a milestone or RMST horizon that is not a positive, finite number."""
    for name, v in (("--milestone-years", milestone_years), ("--tau-years", tau_years)):
        if v is not None and not (math.isfinite(v) and v > 0):
            raise InputError("a positive number of years", field=name, got=v)


def _pooled_row(name: str, values: Sequence[float], notes: Sequence[str]) -> dict[str, Any]:
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    row: dict[str, Any] = {"quantity": name, "estimable": f"{int(ok.sum())} of {len(v)}"}
    if ok.any():
        row["mean"] = float(v[ok].mean())
        row["q2.5"] = float(np.quantile(v[ok], 0.025))
        row["q97.5"] = float(np.quantile(v[ok], 0.975))
        row["not_estimable"] = ""
    else:
        row["mean"] = row["q2.5"] = row["q97.5"] = float("nan")
        row["not_estimable"] = next((n for n in notes if n), "no estimate")
    return row


def pool_endpoint(
    df: pd.DataFrame,
    *,
    paramcd: str,
    control: ControlArm,
    milestone_days: float,
    tau_days: float | None,
    replicate_column: str,
) -> PooledEndpoint:
    """Analyse each replicate of ``paramcd`` and pool the estimates across replicates."""
    d = df[df["PARAMCD"] == paramcd]
    yrs = milestone_days / DAYS_PER_YEAR
    rows: list[dict[str, Any]] = []
    notes: dict[str, list[str]] = {}
    treatment = ""
    treatments: tuple[str, ...] = ()
    for rep, g in d.groupby("REPLICATE", sort=True):
        try:
            a = analyze_endpoint(
                g.reset_index(drop=True),
                paramcd=paramcd,
                milestone_days=milestone_days,
                tau_days=tau_days,
                control=control,
            )
        except InputError as exc:
            raise InputError(
                exc.expected,
                file=exc.file,
                field=f"{replicate_column} {rep}: {exc.field}",
                got=exc.got,
            ) from None
        treatment, treatments = a.treatment, a.treatments
        row: dict[str, Any] = {"replicate": rep}
        for arm in a.arms:
            row[f"n {arm.arm}"] = arm.n
            row[f"events {arm.arm}"] = arm.events
        for arm in a.arms:
            row[f"{yrs:g}-year {arm.arm}"] = arm.milestone.estimate
            notes.setdefault(f"{yrs:g}-year {arm.arm}", []).append(arm.milestone.note)
        quantities: list[tuple[str, float, str]] = []
        if a.comparisons:
            quantities.append(("log-rank p", a.logrank_p, a.logrank_note))
            for c in a.comparisons:
                vs = f"{c.arm} vs {a.control}"
                quantities += [
                    (f"hazard ratio {vs}", c.hazard_ratio.estimate, c.hazard_ratio.note),
                    (f"log-rank p {vs} (Holm)", c.logrank_p_holm, c.logrank_note),
                    (f"RMST difference {vs} (days)", c.rmst_difference.estimate, ""),
                ]
        else:
            quantities += [
                ("hazard ratio", a.hazard_ratio.estimate, a.hazard_ratio.note),
                ("log-rank p", a.logrank_p, a.logrank_note),
                ("RMST difference (days)", a.rmst_difference.estimate, a.rmst_difference.note),
            ]
        for name, value, note in quantities:
            row[name] = value
            notes.setdefault(name, []).append(note)
        row["not estimable"] = "; ".join(f"{k}: {v[-1]}" for k, v in notes.items() if v and v[-1])
        rows.append(row)
    per = pd.DataFrame(rows)
    pooled = [_pooled_row(q, per[q].tolist(), notes[q]) for q in notes]
    p = per["log-rank p"].to_numpy(dtype=np.float64)
    ok = np.isfinite(p)
    pooled.append(
        {
            "quantity": "share of replicates with log-rank p < 0.05",
            "estimable": f"{int(ok.sum())} of {len(p)}",
            "mean": float((p[ok] < 0.05).mean()) if ok.any() else float("nan"),
            "q2.5": float("nan"),
            "q97.5": float("nan"),
            "not_estimable": "" if ok.any() else "no events",
        }
    )
    return PooledEndpoint(
        paramcd=paramcd,
        control=control.arm,
        treatment=treatment,
        milestone_days=milestone_days,
        replicate_column=replicate_column,
        per_replicate=per,
        pooled=pd.DataFrame(pooled),
        data=d.reset_index(drop=True),
        treatments=treatments,
    )


def with_nph_tests(a: EndpointAnalysis, *, horizon_days: float | None = None) -> EndpointAnalysis:
    """Add the parametric fits per arm and, with two arms, the tests for non-PH.

    :mod:`blinasim.analysis.extrapolation` and :mod:`blinasim.analysis.nph`.
    """
    fits = extrapolation_fits(
        a.data,
        arms=tuple(s.arm for s in a.arms),
        milestone_days=a.milestone_days,
        horizon_days=horizon_days,
    )
    a = dataclasses.replace(a, extrapolation=fits)
    if a.comparisons:
        return a
    tests = nph_tests(
        a.data,
        control=a.control,
        treatment=a.treatment,
        stratified=a.stratified,
        milestone_days=a.milestone_days,
    )
    return dataclasses.replace(a, nph=tests)


def analyze_table(
    df: pd.DataFrame,
    *,
    source: str,
    params: Sequence[str] | None = None,
    milestone_years: float = 3.0,
    tau_years: float | None = None,
    control: str | None = None,
    origin: DataOrigin | None = None,
    extrapolate_years: float | None = None,
) -> AnalysisRun:
    """Analyse every requested endpoint of a validated ADTTE table.

    A table with a ``REPLICATE`` column (several simulated trials) is analysed per
    replicate and pooled. Data without any event are refused (nothing is estimable).
    """
    check_years(milestone_years, tau_years)
    have = list(dict.fromkeys(df["PARAMCD"]))
    order = [p for p in ENDPOINT_ORDER if p in have] + sorted(
        p for p in have if p not in ENDPOINT_ORDER
    )
    wanted = list(params) if params else order
    for p in wanted:
        if p not in have:
            raise InputError(
                f"PARAMCD {p} in the data (found {', '.join(have)})", file=source, field="PARAMCD"
            )
    used = df[df["PARAMCD"].isin(wanted)]
    if int(used["EVENT"].sum()) == 0:
        raise InputError(
            "at least one event (CNSR = 0): every row is censored, so no survival, hazard "
            "ratio or test can be estimated",
            file=source,
            field="CNSR",
            got=f"{len(used):,} censored rows",
        )
    arms = sorted(used["ARM"].unique())
    if len(arms) < 2:
        raise InputError("at least two arms", file=source, field="ARM", got=arms)
    ref = resolve_control(
        used, arms, control, file=source, arm_column=str(df.attrs.get("arm_column", "ARM"))
    )
    origin = origin or data_origin(None, list(df.columns))
    milestone = milestone_years * DAYS_PER_YEAR
    tau = tau_years * DAYS_PER_YEAR if tau_years is not None else None
    rep_col = df.attrs.get("replicate_column") or ("REPLICATE" if "REPLICATE" in df else None)
    if rep_col is not None and "REPLICATE" in df.columns:
        pooled = tuple(
            pool_endpoint(
                df,
                paramcd=p,
                control=ref,
                milestone_days=milestone,
                tau_days=tau,
                replicate_column=str(rep_col),
            )
            for p in wanted
        )
        return AnalysisRun(
            source=source,
            analyses=(),
            out_dir=None,
            control=ref,
            origin=origin,
            pooled=pooled,
            replicate_column=str(rep_col),
        )
    analyses = tuple(
        with_nph_tests(
            analyze_endpoint(df, paramcd=p, milestone_days=milestone, tau_days=tau, control=ref),
            horizon_days=extrapolate_years * DAYS_PER_YEAR if extrapolate_years else None,
        )
        for p in wanted
    )
    return AnalysisRun(source=source, analyses=analyses, out_dir=None, control=ref, origin=origin)


# the columns of the analysed rows kept in data.parquet (what the report draws)
DATA_COLUMNS = ("PARAMCD", "ARM", "AVAL", "EVENT", "STRATUM", "CAUSE", "REPLICATE")


def write_outputs(
    run: AnalysisRun, out_dir: Path, *, title: str, inputs: dict[str, Any] | None = None
) -> AnalysisRun:
    """Write ``summary.json``, ``data.parquet`` and ``manifest.json`` into ``out_dir``.

    ``data.parquet`` holds the analysed rows of the endpoints (no subject identifiers): with
    ``summary.json`` it is everything the report shows (``report.html``, listed in the
    manifest, is rendered from them by :func:`blinasim.reports.render.write_report`).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    write_results_json(out_dir / "summary.json", {**run.summary(), "title": title})
    frames = [p.data for p in run.pooled] or [a.data for a in run.analyses]
    data = pd.concat(frames, ignore_index=True)
    data = data[[c for c in DATA_COLUMNS if c in data.columns]]
    write_tables(out_dir, {"data": data})
    write_run_manifest(
        out_dir,
        kind="analysis",
        inputs=inputs or {"source": run.source},
        files={"summary": "summary.json", "data": "data.parquet", "report": "report.html"},
    )
    return AnalysisRun(
        source=run.source,
        analyses=run.analyses,
        out_dir=out_dir,
        control=run.control,
        origin=run.origin,
        pooled=run.pooled,
        replicate_column=run.replicate_column,
    )


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
    """Read, analyse and report an ADTTE file (``.xpt``, ``.csv`` or ``.parquet``).

    Options and the output folder are checked before the file is read; the folder must
    be new or an earlier analysis of the same inputs.
    """
    path = Path(path)
    source = shown_path(path)
    check_years(milestone_years, tau_years)
    if extrapolate_years is not None and not extrapolate_years > 0:
        raise InputError("a positive number of years", field="--extrapolate", got=extrapolate_years)
    check_table_path(path)
    folder = Path(out_dir) if out_dir is not None else timestamped(f"analysis-{path.stem}")
    inputs = {
        "source": source,
        "params": list(params or []),
        "milestone_years": milestone_years,
        "tau_years": tau_years,
        "control": control,
        "extrapolate_years": extrapolate_years,
    }
    created = not folder.exists()
    claim_out_dir(folder, kind="analysis", match={"inputs": inputs})
    try:
        raw = read_table(path)
        df = validate_adtte(raw, file=source)
        run = analyze_table(
            df,
            source=source,
            params=params,
            milestone_years=milestone_years,
            tau_years=tau_years,
            control=control,
            origin=data_origin(path, list(raw.columns)),
            extrapolate_years=extrapolate_years,
        )
    except BlinasimError:
        if created and not any(folder.iterdir()):
            folder.rmdir()  # a bad file leaves no empty results folder behind
        raise
    return write_outputs(run, folder, title=f"Time-to-event analysis: {path.name}", inputs=inputs)


def analyze_example(out_dir: str | Path, *, field: str = "--out") -> AnalysisRun:
    """The bundled veteran trial, analysed and reported (the statistics demonstration)."""
    folder = claim_out_dir(
        out_dir,
        kind="analysis",
        match={"inputs": {"source": VETERAN}},
        refuse_unmarked=False,
        field=field,
        hint=f"move it away, or use another {field}" if field == "--out" else "move it away",
    )
    df = validate_adtte(veteran_adtte(), file="veteran (bundled)")
    run = analyze_table(
        df,
        source=VETERAN,
        milestone_years=0.5,
        origin=DataOrigin(False, "R's survival::veteran trial, bundled with blinasim"),
    )
    return write_outputs(
        run,
        folder,
        title="Veterans' Administration lung cancer trial",
        inputs={"source": VETERAN},
    )


VETERAN = "survival::veteran (bundled example)"

"""``blinasim compare``: the same virtual children under several protocol variants.

Every protocol is run on one cohort with one seed, so each child has the same draws on
every arm (common random numbers): differences between arms are the treatment's, not
the sampling's. DFS is counted from each child's randomization point (end of induction
for SR-Average, end of consolidation for SR-High) over the model horizon (no censoring).

:func:`run_comparison` is the whole ``blinasim compare`` job: it checks the options and
the output folder before any work (a fresh ``results/compare-<base>-<timestamp>`` by
default; a folder holding another run's results is refused), runs the comparison and
writes it; Ctrl-C or SIGTERM stops it with one line on what was written.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from blinasim.analysis.outputs import (
    claim_out_dir,
    shown_path,
    timestamped,
    write_run_manifest,
)
from blinasim.cohort import sample_cohort
from blinasim.config import ParameterSet
from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError
from blinasim.interrupt import resumable
from blinasim.io.checkpoint import atomic_write_bytes, write_results_json
from blinasim.io.results import write_tables
from blinasim.model.engine import simulate
from blinasim.protocol import load_protocol
from blinasim.reports.compare import PATIENT_COLS
from blinasim.reports.render import write_report
from blinasim.stats import kaplan_meier
from blinasim.units import DAYS_PER_YEAR


@dataclass(frozen=True, eq=False)
class Comparison:
    """Per (protocol, arm): outcomes of the same children; and paired differences."""

    table: pd.DataFrame
    patients: pd.DataFrame
    reference: dict[str, str]
    n_children: int
    seed: int


def _label(protocol: Any, arm: str) -> str:
    return f"{protocol.name}:{arm}"


def compare_protocols(
    protocols: Sequence[str | Path],
    *,
    n: int = 20_000,
    seed: int = 1,
    params: ParameterSet | None = None,
    years: Sequence[float] = (3.0, 5.0),
) -> Comparison:
    """Run every protocol's arms on the same ``n`` children and summarize by arm.

    The reference arm of each stratum is the control arm of the first protocol.
    """
    check_options(n, seed)
    loaded = [load_protocol(p) for p in protocols]
    cohort = sample_cohort(n, seed=seed, params=params)
    frames = []
    for prot in loaded:
        out = simulate(cohort, prot, params=params, seed=seed)
        p = out.patients
        p = p[p["randomization_day"].notna()].copy()
        first = p[["relapse_day", "death_day", "second_malignancy_day"]].min(axis=1)
        event = first.notna().to_numpy()
        horizon = float(out.horizon_days)
        p["dfs_days"] = np.where(event, first, horizon) - p["randomization_day"]
        p["dfs_event"] = event.astype(int)
        p["protocol"] = prot.name
        p["arm"] = p["arm"].astype(str)
        p["label"] = [_label(prot, a) for a in p["arm"]]
        p["stratum"] = p["risk_group"].astype(str)
        frames.append(
            p[
                [
                    "patient_id",
                    "protocol",
                    "arm",
                    "label",
                    "stratum",
                    "dfs_days",
                    "dfs_event",
                    "relapse_day",
                    "relapse_site",
                    "relapse_cd19_negative",
                ]
            ]
        )
    # an arm that a later protocol includes unchanged (same arm, same outcomes) is shown once
    seen: dict[str, pd.DataFrame] = {}
    kept = []
    for f in frames:
        for arm_name, g in f.groupby("arm", sort=False):
            prev = seen.get(str(arm_name))
            same = prev is not None and prev[["patient_id", "dfs_days", "dfs_event"]].reset_index(
                drop=True
            ).equals(g[["patient_id", "dfs_days", "dfs_event"]].reset_index(drop=True))
            if not same:
                kept.append(g)
                seen.setdefault(str(arm_name), g)
    pts = pd.concat(kept, ignore_index=True)
    reference: dict[str, str] = {}
    first_prot = loaded[0]
    for arm in first_prot.arms.values():
        if arm.control and arm.randomized_after is not None:
            reference.setdefault(arm.stratum, _label(first_prot, arm.name))
    rows = []
    for (stratum, label), g in pts.groupby(["stratum", "label"], sort=True):
        km = kaplan_meier(g["dfs_days"].to_numpy(float), g["dfs_event"].to_numpy(np.int64))
        at = km.at([y * DAYS_PER_YEAR for y in years])
        row: dict[str, Any] = {"stratum": stratum, "arm": label, "n": len(g)}
        for y, s, se in zip(years, at.survival, at.std_err, strict=True):
            row[f"dfs_{y:g}y"] = float(s)
            row[f"dfs_{y:g}y_se"] = float(se)
        rel = g["relapse_day"].notna()
        row["relapse"] = float(rel.mean())
        row["cd19_negative_share"] = (
            float(g.loc[rel, "relapse_cd19_negative"].mean()) if rel.any() else float("nan")
        )
        ref = reference.get(str(stratum))
        if ref is not None and ref != label:
            r = pts[(pts["label"] == ref) & (pts["stratum"] == stratum)].set_index("patient_id")
            both = g.set_index("patient_id").join(r, rsuffix="_ref", how="inner")
            y0 = years[0] * DAYS_PER_YEAR
            a = ((both["dfs_days"] > y0) | (both["dfs_event"] == 0)).to_numpy(float)
            b = ((both["dfs_days_ref"] > y0) | (both["dfs_event_ref"] == 0)).to_numpy(float)
            d: np.ndarray[Any, np.dtype[np.float64]] = a - b
            row["reference"] = ref
            row[f"paired_difference_{years[0]:g}y"] = float(d.mean())
            row[f"paired_difference_{years[0]:g}y_se"] = float(d.std(ddof=1) / np.sqrt(len(d)))
        rows.append(row)
    return Comparison(pd.DataFrame(rows), pts, reference, n, seed)


def check_options(n: int, seed: int) -> None:
    """One line for a number of children or a seed that cannot work."""
    if n < 100:
        raise InputError("at least 100 children", field="--n", got=n)
    if seed < 0:
        raise InputError("a non-negative integer seed", field="--seed", got=seed)


def comparison_inputs(protocols: Sequence[str | Path], *, n: int, seed: int) -> dict[str, Any]:
    """What makes a comparison: protocols as given (with a digest of each file), n, seed."""
    shown = []
    for p in protocols:
        path = Path(p)
        entry: dict[str, str] = {"protocol": shown_path(path)}
        if path.is_file():
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        shown.append(entry)
    return {"protocols": shown, "n": n, "seed": seed}


def run_comparison(
    protocols: Sequence[str | Path],
    *,
    n: int,
    seed: int,
    out: str | Path | None = None,
    params: ParameterSet | None = None,
) -> tuple[Comparison, Path]:
    """``blinasim compare``: check, claim the folder, compare, write; returns (cmp, report).

    The protocols and options are checked and the output folder claimed before any
    simulation; an interruption raises :class:`~blinasim.interrupt.Interrupted` whose line
    says what was written (compare keeps no checkpoints).
    """
    check_options(n, seed)
    for p in protocols:
        load_protocol(p)  # a bad protocol is one line before any folder is made
    base = Path(protocols[0]).stem
    folder = Path(out) if out is not None else timestamped(f"compare-{base}")
    inputs = comparison_inputs(protocols, n=n, seed=seed)
    claim_out_dir(folder, kind="compare", match={"inputs": inputs})

    def saved() -> str:
        written = [
            f
            for f in ("comparison.csv", "comparison.json", "report.html")
            if (folder / f).is_file()
        ]
        if not written:
            return (
                f"the comparison was not finished and nothing was written to {folder}; "
                "compare keeps no checkpoints: run the same command again"
            )
        return (
            f"the comparison was interrupted while writing {folder} ({', '.join(written)} "
            "may be incomplete); run the same command again"
        )

    with resumable(saved):
        cmp = compare_protocols(protocols, n=n, seed=seed, params=params)
        report = write_comparison(cmp, folder, inputs=inputs)
    return cmp, report


def write_comparison(
    cmp: Comparison, out_dir: Path, *, inputs: dict[str, Any] | None = None
) -> Path:
    """Write the comparison's folder, then ``report.html`` rendered from it alone.

    ``comparison.csv``, ``comparison.json``, ``patients.parquet`` (the rows the curves are
    drawn from) and ``manifest.json``.

    Every file is written atomically with mode 0644; returns the report's path.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    cmp.table.to_csv(buf, index=False)
    atomic_write_bytes(out_dir / "comparison.csv", buf.getvalue().encode("utf-8"))
    write_results_json(
        out_dir / "comparison.json",
        {
            "n_children": cmp.n_children,
            "seed": cmp.seed,
            "reference": cmp.reference,
            "disclaimer": DISCLAIMER,
            "arms": cmp.table.to_dict(orient="records"),
            **({"inputs": inputs} if inputs else {}),
        },
    )
    write_tables(out_dir, {"patients": cmp.patients[list(PATIENT_COLS)]})
    write_run_manifest(
        out_dir,
        kind="compare",
        inputs=inputs or {"n": cmp.n_children, "seed": cmp.seed},
        files={
            "table": "comparison.csv",
            "summary": "comparison.json",
            "patients": "patients.parquet",
            "report": "report.html",
        },
    )
    return write_report(out_dir)

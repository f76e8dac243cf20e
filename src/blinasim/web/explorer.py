"""The scenario explorer: blinatumomab schedule variants of AALL1731, compared in pairs.

A scenario is a stratum (SR-Average or SR-High), a number of blinatumomab cycles (1-3), a
dose (5-28 µg/m²/day) and a placement of the cycles in the backbone. It is written as a
protocol file (the shipped AALL1731 arms plus one variant arm that extends arm B or D, so
the backbone is the shipped one, cycle by cycle) and run by
:func:`blinasim.jobs.scenarios.compare_protocols` on the same virtual children for each
of a few posterior draws (common random numbers): the paired differences (variant minus
chemotherapy, variant minus the AALL1731 schedule) are the schedule's, and their 95%
interval is that of the mixture over draws of each draw's Monte Carlo normal
(:func:`blinasim.jobs.whatif.mixture_interval`). There is no second simulator here.

The work is bounded: a fixed number of children and of draws per scenario.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from blinasim._version import __version__
from blinasim.calibrate.ensemble import load_posterior
from blinasim.config import ParameterSet
from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError
from blinasim.jobs.scenarios import compare_protocols
from blinasim.jobs.whatif import mixture_interval
from blinasim.protocol.loader import shipped_protocols
from blinasim.units import DAYS_PER_YEAR

Stratum = Literal["SR-Average", "SR-High"]
Placement = Literal["spread", "early", "late"]

STRATA: dict[str, tuple[str, str]] = {"SR-Average": ("A", "B"), "SR-High": ("C", "D")}
"""Stratum -> (chemotherapy arm, AALL1731 blinatumomab arm) of the shipped protocol."""

PLACEMENTS: dict[str, str] = {
    "spread": "as in AALL1731: after consolidation, after interim maintenance I, "
    "then after delayed intensification",
    "early": "all cycles back to back, right after consolidation",
    "late": "all cycles back to back, after delayed intensification (before maintenance)",
}
CYCLES = (1, 2, 3)
DOSE_RANGE = (5.0, 28.0)
YEARS = (3.0, 5.0)
N_CHILDREN = 10_000
"""Virtual children per posterior draw (fixed: a request cannot ask for more)."""
N_DRAWS = 16
"""Posterior draws per scenario (fixed)."""
SEED = 20241207


@dataclass(frozen=True)
class Scenario:
    """One blinatumomab schedule for one stratum."""

    stratum: Stratum
    cycles: int
    dose_ug_per_m2_day: float
    placement: Placement

    @property
    def key(self) -> str:
        """A short stable id (the cache key and the job id)."""
        text = f"{self.stratum}|{self.cycles}|{self.dose_ug_per_m2_day:g}|{self.placement}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def describe(self) -> str:
        """Plain words, e.g. ``3 cycles of 28 days at 15 µg/m²/day, ...``."""
        n = "1 cycle" if self.cycles == 1 else f"{self.cycles} cycles"
        where = {
            "spread": "spread as in AALL1731" if self.cycles > 1 else "after consolidation",
            "early": "after consolidation",
            "late": "after delayed intensification",
        }[self.placement]
        if self.cycles > 1 and self.placement != "spread":
            where = "back to back " + where
        return f"{n} of 28 days at {self.dose_ug_per_m2_day:g} µg/m²/day, {where}"


def parse_scenario(form: Mapping[str, str]) -> Scenario:
    """A scenario from form fields; a bad field raises InputError naming it."""
    extra = sorted(set(form) - {"stratum", "cycles", "dose", "placement"})
    if extra:
        raise InputError("only the fields stratum, cycles, dose, placement", got=extra[0][:40])
    stratum = form.get("stratum", "").strip()
    if stratum not in STRATA:
        raise InputError(f"one of {', '.join(STRATA)}", field="stratum", got=stratum or None)
    raw_cycles = form.get("cycles", "").strip()
    if raw_cycles not in {str(c) for c in CYCLES}:
        raise InputError("1, 2 or 3 cycles", field="cycles", got=raw_cycles or None)
    raw_dose = form.get("dose", "").strip()
    try:
        dose = float(raw_dose)
    except ValueError:
        raise InputError(
            "a number of µg/m²/day from 5 to 28", field="dose", got=raw_dose or None
        ) from None
    lo, hi = DOSE_RANGE
    if not (math.isfinite(dose) and lo <= dose <= hi):
        raise InputError("a number of µg/m²/day from 5 to 28", field="dose", got=raw_dose)
    dose = round(dose, 1)
    placement = form.get("placement", "").strip()
    if placement not in PLACEMENTS:
        raise InputError(
            f"one of {', '.join(PLACEMENTS)}", field="placement", got=placement or None
        )
    return Scenario(stratum, int(raw_cycles), dose, placement)  # type: ignore[arg-type]


@functools.cache
def _blina_phase() -> dict[str, Any]:
    """The shipped AALL1731 blinatumomab block (arm B's first inserted phase), as data."""
    doc = yaml.safe_load(shipped_protocols()["aall1731"].read_text(encoding="utf-8"))
    for edit in doc["arms"]["B"]["edits"]:
        for phase in edit.get("phases") or ():
            if phase.get("kind") == "blinatumomab":
                return dict(phase)
    raise RuntimeError("the shipped aall1731 protocol has no blinatumomab block in arm B")


def variant_protocol(s: Scenario) -> dict[str, Any]:
    """The protocol document of a scenario: the shipped arms of its stratum plus arm V."""
    control, standard = STRATA[s.stratum]
    anchors = {"spread": ["consolidation", "IM1", "DI"], "early": [], "late": []}[s.placement]
    edits: list[dict[str, Any]] = [{"remove": "blina1"}, {"remove": "blina2"}]
    blocks = []
    for k in range(1, s.cycles + 1):
        phase = copy.deepcopy(_blina_phase())
        phase["name"] = f"blina{k}"
        phase["source"] = f"assumption: scenario explorer, cycle {k} ({s.placement} placement)"
        blocks.append(phase)
    if s.placement == "spread":
        edits += [{"insert_after": a, "phases": [b]} for a, b in zip(anchors, blocks, strict=False)]
    else:
        after = "consolidation" if s.placement == "early" else "DI"
        edits.append({"insert_after": after, "phases": blocks})
    if s.dose_ug_per_m2_day != 15.0:
        edits.append(
            {
                "set_dose": {
                    "drug": "blinatumomab",
                    "dose": s.dose_ug_per_m2_day,
                    "source": "assumption: scenario explorer dose",
                }
            }
        )
    return {
        "name": "explorer",
        "description": f"Scenario explorer: {s.describe()}",
        "source": "assumption: a hypothetical schedule of the scenario explorer",
        "include": {"protocol": "aall1731", "arms": [control, standard]},
        "arms": {
            "V": {
                "extends": standard,
                "label": f"variant: {s.describe()}",
                "control": False,
                "source": "assumption: scenario explorer",
                "edits": edits,
            }
        },
    }


@dataclass(frozen=True)
class Interval:
    """A point and its 95% interval."""

    estimate: float
    lower: float
    upper: float


@dataclass(frozen=True)
class ScenarioResult:
    """DFS of the three arms and the paired differences, per horizon (years)."""

    scenario: Scenario
    dfs: Mapping[str, Mapping[float, Interval]]
    """Arm ("chemotherapy", "aall1731", "variant") -> years -> DFS."""
    vs_chemotherapy: Mapping[float, Interval]
    vs_aall1731: Mapping[float, Interval]
    n_children: int
    draws: int
    posterior: str
    model_version: str = __version__
    disclaimer: str = DISCLAIMER


def _survives(g: pd.DataFrame, days: float) -> pd.Series:
    return (g["dfs_days"] > days) | (g["dfs_event"] == 0)


def _one_draw(
    path: Path, s: Scenario, params: ParameterSet
) -> dict[str, dict[float, tuple[float, float]]]:
    """Per quantity and horizon: (mean, Monte Carlo SE) on one parameter set."""
    cmp = compare_protocols([path], n=N_CHILDREN, seed=SEED, params=params, years=YEARS)
    control, standard = STRATA[s.stratum]
    pts = cmp.patients[cmp.patients["stratum"] == s.stratum]
    arms = {
        "chemotherapy": pts[pts["arm"] == control].set_index("patient_id"),
        "aall1731": pts[pts["arm"] == standard].set_index("patient_id"),
        "variant": pts[pts["arm"] == "V"].set_index("patient_id"),
    }
    # paired on the children randomized on all three arms (a child who relapses before
    # randomization on one arm only is left out, as compare_protocols' inner join does)
    common = arms["chemotherapy"].index
    for g in arms.values():
        common = common.intersection(g.index)
    if common.size < 2:
        raise RuntimeError("no child was randomized on all three arms")
    arms = {k: g.loc[common] for k, g in arms.items()}
    out: dict[str, dict[float, tuple[float, float]]] = {}
    for y in YEARS:
        days = y * DAYS_PER_YEAR
        alive = {k: _survives(g, days).to_numpy(float) for k, g in arms.items()}
        for k, a in alive.items():
            out.setdefault(k, {})[y] = (float(a.mean()), float(a.std(ddof=1) / math.sqrt(a.size)))
        for name, ref in (("vs_chemotherapy", "chemotherapy"), ("vs_aall1731", "aall1731")):
            d = alive["variant"] - alive[ref]
            out.setdefault(name, {})[y] = (
                float(d.mean()),
                float(d.std(ddof=1) / math.sqrt(d.size)),
            )
    return out


def run_scenario(
    s: Scenario,
    workdir: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    run_draw: Callable[[Callable[[], Any]], Any] | None = None,
) -> ScenarioResult:
    """Run ``s`` on :data:`N_DRAWS` posterior draws; ``progress(done, total)`` after each.

    ``run_draw(fn)`` runs one draw's work (the web app passes its bounded model pool);
    by default it is called in place.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"explorer-{s.key}.yaml"
    path.write_text(yaml.safe_dump(variant_protocol(s), sort_keys=False), encoding="utf-8")
    ens = load_posterior(None)
    sets = list(ens.parameter_sets(ParameterSet.load(), n=N_DRAWS, seed=SEED))
    per: list[dict[str, dict[float, tuple[float, float]]]] = []
    call = run_draw or (lambda fn: fn())
    for i, ps in enumerate(sets):
        per.append(call(functools.partial(_one_draw, path, s, ps)))
        if progress is not None:
            progress(i + 1, len(sets))

    def combine(name: str) -> dict[float, Interval]:
        res = {}
        for y in YEARS:
            m = [d[name][y][0] for d in per]
            se = [d[name][y][1] for d in per]
            e = mixture_interval(m, se)
            res[y] = Interval(float(np.mean(m)), e.low, e.high)
        return res

    return ScenarioResult(
        scenario=s,
        dfs={k: combine(k) for k in ("chemotherapy", "aall1731", "variant")},
        vs_chemotherapy=combine("vs_chemotherapy"),
        vs_aall1731=combine("vs_aall1731"),
        n_children=N_CHILDREN,
        draws=len(sets),
        posterior=ens.name,
    )

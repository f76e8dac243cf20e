"""The posterior ensemble: parameter sets drawn from the calibration, shipped as data.

A posterior is a CSV (one row per draw: ``draw``, one column per free parameter, the log
posterior) with a JSON sidecar (version, config name and hash, date, method, free
parameters, diagnostics, the source of every number). The shipped one is
``data/calibration/posterior_aall1731_v3.csv``. :func:`load_posterior` reads it and
:meth:`PosteriorEnsemble.parameter_sets` turns each draw into a full
:class:`~blinasim.config.ParameterSet` (``ParameterSet.with_values``), so simulations and
trials run on calibrated parameters and carry their uncertainty without re-running the fit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim import rng
from blinasim.config import ParameterSet
from blinasim.errors import InputError
from blinasim.io.checkpoint import atomic_write_bytes, atomic_write_json

FloatArray = NDArray[np.float64]
DEFAULT_NAME = "posterior_aall1731_v3"


@dataclass(frozen=True)
class PosteriorEnsemble:
    """Posterior draws of the free parameters (``draws``: one row per draw)."""

    draws: pd.DataFrame
    keys: tuple[str, ...]
    meta: Mapping[str, Any]
    origin: str = "<memory>"

    def __len__(self) -> int:
        return len(self.draws)

    @property
    def name(self) -> str:
        """Name and version of the posterior (e.g. ``aall1731 v1``)."""
        return f"{self.meta.get('name', '?')} v{self.meta.get('version', '?')}"

    def values(self, i: int) -> dict[str, float]:
        """Parameter values of draw ``i``."""
        row = self.draws.iloc[i]
        return {k: float(row[k]) for k in self.keys}

    def parameter_sets(
        self, base: ParameterSet | None = None, *, n: int | None = None, seed: int | None = None
    ) -> Iterator[ParameterSet]:
        """Full parameter sets, one per draw (all draws in order, or ``n`` of them).

        With ``n`` and ``seed``, ``n`` draws are chosen with replacement from a named random
        stream (reproducible); with ``n`` alone, the first ``n`` draws.
        """
        ps = ParameterSet.given(base)
        for i in self.indices(n=n, seed=seed):
            yield ps.with_values(
                self.values(int(i)), source=f"calibrated: posterior {self.name}, draw {i}"
            )

    def indices(self, *, n: int | None = None, seed: int | None = None) -> NDArray[np.int64]:
        """Which draws :meth:`parameter_sets` uses."""
        m = len(self)
        if n is None:
            return np.arange(m, dtype=np.int64)
        if n < 1:
            raise InputError("a positive number of parameter sets", field="n", got=n)
        if seed is None:
            return np.arange(n, dtype=np.int64) % m
        g = rng.generator(seed, "calibrate.posterior_draws")
        return np.asarray(g.integers(0, m, size=n), dtype=np.int64)

    def summary(self) -> pd.DataFrame:
        """Posterior mean, SD and 2.5/50/97.5% quantiles per parameter."""
        rows = []
        for k in self.keys:
            x = self.draws[k].to_numpy(dtype=float)
            q = np.quantile(x, [0.025, 0.5, 0.975])
            rows.append(
                {
                    "parameter": k,
                    "mean": float(x.mean()),
                    "sd": float(x.std(ddof=1)) if x.size > 1 else math.nan,
                    "q025": float(q[0]),
                    "median": float(q[1]),
                    "q975": float(q[2]),
                }
            )
        return pd.DataFrame(rows)


def shipped_dir() -> Path:
    """Folder of the shipped calibration files."""
    return Path(str(resources.files("blinasim") / "data" / "calibration"))


def posterior_name(meta: Mapping[str, Any]) -> str:
    """File stem of a posterior: ``posterior_<config name>_v<version>``."""
    return f"posterior_{meta.get('name', 'calibration')}_v{meta.get('version', 1)}"


def save_posterior(ens: PosteriorEnsemble, folder: str | Path, name: str | None = None) -> Path:
    """Write ``<name>.csv`` and ``<name>.json`` atomically; returns the CSV path."""
    d = Path(folder)
    name = name or posterior_name(ens.meta)
    csv = d / f"{name}.csv"
    cols = ["draw", *ens.keys, "log_posterior"]
    text = ens.draws.loc[:, cols].to_csv(index=False, float_format="%.10g", lineterminator="\n")
    atomic_write_bytes(csv, text.encode("utf-8"))
    atomic_write_json(d / f"{name}.json", dict(ens.meta))
    return csv


def posterior_file(path: str | Path | None = None) -> Path:
    """The posterior CSV that ``path`` names (None: the shipped one).

    A folder must hold exactly one ``posterior_*.csv`` (else a one-line error).
    """
    p = Path(path) if path is not None else shipped_dir() / f"{DEFAULT_NAME}.csv"
    if p.is_dir():
        found = sorted(p.glob("posterior_*.csv"))
        if len(found) != 1:
            raise InputError("a folder with one posterior_*.csv", file=p, got=len(found))
        p = found[0]
    return p


def load_posterior(path: str | Path | None = None) -> PosteriorEnsemble:
    """Read a posterior ensemble (default: the one shipped with the package).

    ``path`` is the CSV (its JSON sidecar beside it) or a folder holding exactly one
    ``posterior_*.csv``. Every parameter must be known to the parameter file.
    """
    p = posterior_file(path)
    side = p.with_suffix(".json")
    if not p.exists() or not side.exists():
        raise InputError(
            "a posterior CSV with its JSON sidecar (run 'blinasim calibrate')",
            file=p,
            got="missing",
        )
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
        draws = pd.read_csv(p)
    except (OSError, ValueError) as exc:
        raise InputError("a readable posterior CSV and JSON", file=p, got=str(exc)) from None
    keys = tuple(meta.get("free_parameters", ()))
    missing = [c for c in ("draw", *keys) if c not in draws.columns]
    if not keys or missing:
        raise InputError(
            "columns draw and every free parameter of the sidecar",
            file=p,
            field=missing[0] if missing else "free_parameters",
        )
    if draws.loc[:, list(keys)].isna().to_numpy().any():
        raise InputError("no missing values", file=p, field="draws")
    base = ParameterSet.load()
    for k in keys:
        if k not in base:
            raise InputError("a parameter of parameters.yaml", file=p, field=k)
    return PosteriorEnsemble(draws=draws, keys=keys, meta=meta, origin=str(p))


__all__ = [
    "PosteriorEnsemble",
    "load_posterior",
    "posterior_file",
    "posterior_name",
    "save_posterior",
    "shipped_dir",
]

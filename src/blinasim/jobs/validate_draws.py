"""The posterior draws of ``blinasim validate``: simulated, checkpointed, resumable.

:class:`DrawSummaries` gives the simulated counterpart of every target for one posterior
draw with the calibration's own simulator and summaries; :func:`evaluate` runs it for every
draw on a pool (serial, local processes) and checkpoints the results after every batch in a
plain ``.npz`` archive (never a pickle), keyed by what the evaluations depend on
(:func:`identity`). A checkpoint of other inputs, or an unreadable one, is reported in one
warning line and the draws are simulated again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from blinasim._version import __version__
from blinasim.calibrate.checkpoints import CheckpointError, read_checkpoint, write_checkpoint
from blinasim.calibrate.config import CalibrationConfig
from blinasim.calibrate.ensemble import PosteriorEnsemble
from blinasim.calibrate.pools import make_pool
from blinasim.calibrate.simulator import ModelSimulator, Simulator, build_simulator
from blinasim.calibrate.summaries import SummaryValue, summarize
from blinasim.calibrate.targets import Target
from blinasim.config import ParameterSet, default_parameters_path
from blinasim.model.engine import ModelParams

FloatArray = NDArray[np.float64]
CHECKPOINT = "validate_checkpoint.npz"
KIND = "validate"


class DrawSummaries:
    """Simulated counterparts of ``targets`` for one posterior draw (picklable).

    The mechanistic model runs through the calibration's :class:`ModelSimulator` (its cohort,
    protocol and seed) and :func:`~blinasim.calibrate.summaries.summarize` computes every
    target's statistic; any other simulator (a test's toy) is called as the calibration
    calls it. Returns ``(values, mc_se)`` aligned with ``targets`` (NaN: no counterpart).
    """

    def __init__(self, config: CalibrationConfig, targets: Sequence[Target]) -> None:
        self.config = config
        self.targets = tuple(targets)
        self._sim: Simulator | None = None
        self._base: ParameterSet | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config, "targets": self.targets, "_sim": None, "_base": None}

    def summaries(self, values: Mapping[str, float]) -> dict[str, SummaryValue]:
        """Simulated counterpart by target id at these parameter values."""
        if self._sim is None:
            self._sim = build_simulator(self.config)
        sim = self._sim
        if not isinstance(sim, ModelSimulator):
            return sim(values)
        if self._base is None:
            self._base = ParameterSet.load()
        ps = self._base.with_values(dict(values), source="calibrated: posterior draw")
        return summarize(
            sim.outcomes(values),
            self.targets,
            params=ModelParams.from_parameters(ps),
            blina_arms=self.config.simulation.blinatumomab_arms,
            vx=self.config.virtual.experiments(),
            seed=self.config.seed,
        )

    def __call__(self, values: Mapping[str, float]) -> tuple[FloatArray, FloatArray]:
        """``(values, mc_se)`` of every target (NaN where the simulator gave none)."""
        summ = self.summaries(values)
        v = np.full(len(self.targets), np.nan)
        s = np.full(len(self.targets), np.nan)
        for j, t in enumerate(self.targets):
            if t.id in summ:
                v[j], s[j] = summ[t.id].value, summ[t.id].mc_se
        return v, s


def _sha_file(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def identity(
    ens: PosteriorEnsemble, cfg: CalibrationConfig, idx: NDArray[np.int64], files: Sequence[Path]
) -> dict[str, Any]:
    """What the evaluations depend on (a checkpoint of other inputs is not resumed)."""
    origin = Path(ens.origin)
    doc = {
        "posterior_sha256": _sha_file(origin) if origin.is_file() else origin.name,
        "config_sha256": cfg.digest(),
        "draws": [int(i) for i in idx],
        "target_files": {f.name: _sha_file(f) for f in files},
        "parameters_sha256": _sha_file(default_parameters_path()),
        "blinasim_version": __version__,
    }
    text = json.dumps(doc, sort_keys=True)
    return {"digest": hashlib.sha256(text.encode()).hexdigest(), **doc}


@dataclass
class Progress:
    """Draws evaluated so far (for progress bars and the line printed on an interruption)."""

    done: int = 0
    total: int = 0
    checkpoint: Path | None = None

    def line(self) -> str:
        """What is saved and how to resume."""
        if self.checkpoint is None:
            return f"{self.done} of {self.total} draws evaluated, nothing saved (no --out)"
        return (
            f"{self.done} of {self.total} draws saved in {self.checkpoint}; run the same "
            "command again to resume"
        )


def _resume(path: Path, ident: Mapping[str, Any], m: int, warn: Callable[[str], None]) -> Any:
    if not path.exists():
        return None
    try:
        ck = read_checkpoint(path, KIND)
    except (CheckpointError, KeyError) as exc:  # KeyError: another kind of checkpoint
        warn(f"warning: ignoring {path.name}: {exc}; starting again")
        return None
    if ck.identity.get("digest") != ident["digest"] or ck.arrays["values"].shape[1] != m:
        warn(f"warning: {path.name} was made with other inputs; starting again")
        return None
    return ck


def evaluate(
    fn: DrawSummaries,
    thetas: Sequence[dict[str, float]],
    *,
    workers: int | None,
    checkpoint: Path | None,
    ident: Mapping[str, Any],
    progress: Progress,
    on_progress: Callable[[int, int], None] | None = None,
    warn: Callable[[str], None] | None = None,
    batch: int = 8,
) -> tuple[FloatArray, FloatArray]:
    """``(values, mc_se)``: ``(draws, targets)`` arrays, checkpointed after every batch."""
    n, m = len(thetas), len(fn.targets)
    values = np.full((n, m), np.nan)
    mcse = np.full((n, m), np.nan)
    done = np.zeros(n, dtype=bool)
    say = warn or (lambda _line: None)
    if checkpoint is not None:
        ck = _resume(checkpoint, ident, m, say)
        if ck is not None:
            values, mcse, done = ck.arrays["values"], ck.arrays["mc_se"], ck.arrays["done"]
    progress.total, progress.done = n, int(done.sum())
    if on_progress is not None:
        on_progress(progress.done, n)
    todo = [i for i in range(n) if not done[i]]
    if not todo:
        return values, mcse
    pool = make_pool(workers if len(todo) > 1 else 1)
    step = max(batch, 2 * (workers or 1))
    try:
        for start in range(0, len(todo), step):
            ids = todo[start : start + step]
            for i, (v, s) in zip(ids, pool.map(fn, [thetas[i] for i in ids]), strict=True):
                values[i], mcse[i], done[i] = v, s, True
            if checkpoint is not None:
                arrays = {"values": values, "mc_se": mcse, "done": done}
                write_checkpoint(checkpoint, KIND, dict(ident), {"draws": n}, arrays)
            progress.done = int(done.sum())
            if on_progress is not None:
                on_progress(progress.done, n)
    except BaseException:
        pool.abort()
        raise
    pool.close()
    return values, mcse


__all__ = ["CHECKPOINT", "DrawSummaries", "Progress", "evaluate", "identity"]

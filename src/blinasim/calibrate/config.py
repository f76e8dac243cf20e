"""The calibration config: which targets, which free parameters, how many patients, sampler.

Loaded from YAML (default: ``data/calibration/aall1731.yaml``) into a frozen pydantic model;
a bad file raises a one-line :class:`~blinasim.errors.InputError`.

Which targets are fitted is their ``role`` in the target file (:mod:`blinasim.targets`), not
a list of the config's own: a config without ``fit`` / ``hold_out`` fits the ``fitted``
targets and compares every other target that has a simulated counterpart (``summary``),
both in file order (:meth:`CalibrationConfig.by_role`). A config that lists them (e.g. the
sidecar of a posterior) is checked against the roles: ``fit`` must be exactly the
``fitted`` targets, and ``fit`` + ``hold_out`` every target with a ``summary``.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from blinasim.calibrate.summaries import VirtualExperiments
from blinasim.calibrate.targets import TargetSet, load_targets
from blinasim.config import FrozenModel, load_yaml_mapping
from blinasim.errors import InputError


class SimulationSpec(FrozenModel):
    """The virtual trial run at every likelihood evaluation (common random numbers)."""

    simulator: str = "blinasim.calibrate.simulator:ModelSimulator"
    protocol: str = "aall1731"
    n_patients: int = Field(default=6000, ge=10)
    horizon_days: float = Field(default=3653.0, gt=0)
    blinatumomab_arms: tuple[str, ...] = ("B", "D")


class SamplerSpec(FrozenModel):
    """emcee settings."""

    method: str = Field(default="emcee", pattern="^emcee$")
    walkers: int = Field(default=32, ge=4)
    steps: int = Field(default=200, ge=1)
    burn_in: int = Field(default=100, ge=0)
    init_spread: float = Field(default=0.05, gt=0, le=0.5)
    """Initial ball: the file's values plus this fraction of the prior's central 68% width."""
    checkpoint_every: int = Field(default=1, ge=1)
    moves: str = Field(default="stretch", pattern="^(stretch|de)$")
    """emcee proposal moves: ``stretch`` (Goodman & Weare) or ``de`` (differential evolution
    80% + DE snooker 20%, ter Braak 2006/2008: better in narrow, correlated posteriors)."""

    @model_validator(mode="after")
    def _burn(self) -> SamplerSpec:
        if self.burn_in >= self.steps:
            raise ValueError("burn_in must be < steps")
        if self.walkers % 2:
            raise ValueError("walkers must be even")
        return self


class ImportanceSpec(FrozenModel):
    """Stage 2: importance sampling from a defensive mixture fitted to stage 1 (emcee).

    Proposal in the prior's normal-score space: ``(1 - defensive)`` multivariate Student-t
    (``df`` degrees of freedom) at the mean of the post-burn-in walkers with their
    covariance times ``scale**2``, plus ``defensive`` of the prior N(0, I).
    """

    draws: int = Field(default=2000, ge=10)
    df: float = Field(default=5.0, gt=0, le=1000)
    scale: float = Field(default=1.5, gt=0, le=10)
    defensive: float = Field(default=0.1, ge=0, lt=1)
    batch: int = Field(default=96, ge=1)
    """Draws evaluated between two checkpoints."""
    rounds: int = Field(default=1, ge=1, le=10)
    """Adaptive rounds (AMIS, Cornuet et al. 2012): round ``r`` > 0 refits the t component
    to the importance-weighted draws of the earlier rounds; the final weights use the
    deterministic mixture of all rounds' proposals. 1: a single proposal."""


class VirtualSpec(FrozenModel):
    """Settings of the virtual experiments (see :class:`VirtualExperiments`)."""

    adult_bsa_median_m2: float = Field(default=1.88, gt=0)
    adult_bsa_sd_log: float = Field(default=0.12, ge=0)
    child_bsa_median_m2: float = Field(default=1.2, gt=0)
    child_bsa_sd_log: float = Field(default=0.25, ge=0)
    adult_mrd_log10_range: tuple[float, float] = (-3.0, -1.0)
    child_mrd_log10_range: tuple[float, float] = (-3.5, -1.5)
    response_below_log10: float = -4.0
    cycle_days: float = Field(default=28.0, gt=0)
    dose_ug_per_m2_day: float = Field(default=15.0, gt=0)
    at_risk_follow_up: dict[float, float] = Field(default_factory=dict)
    child_rr_blast_range: tuple[float, float] = (0.25, 0.95)
    adult_rr_blast_range: tuple[float, float] = (0.10, 0.95)
    child_rr_doses_ug_per_m2_day: tuple[float, float] = (5.0, 15.0)
    adult_rr_doses_ug_per_day: tuple[float, float] = (9.0, 28.0)
    rr_step_days: float = Field(default=7.0, ge=0)
    rr_off_days: float = Field(default=14.0, ge=0)
    rr_cycles: int = Field(default=2, ge=1)
    cr_blasts_below: float = Field(default=0.05, gt=0, lt=1)

    def experiments(self) -> VirtualExperiments:
        """As the summaries' dataclass."""
        d = self.model_dump()
        d["adult_mrd_log10_range"] = tuple(d["adult_mrd_log10_range"])
        d["child_mrd_log10_range"] = tuple(d["child_mrd_log10_range"])
        for k in (
            "child_rr_blast_range",
            "adult_rr_blast_range",
            "child_rr_doses_ug_per_m2_day",
            "adult_rr_doses_ug_per_day",
        ):
            d[k] = tuple(d[k])
        d["at_risk_follow_up"] = {float(k): float(v) for k, v in d["at_risk_follow_up"].items()}
        return VirtualExperiments(**d)


class CalibrationConfig(FrozenModel):
    """A calibration run."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    version: int = Field(ge=1)
    seed: int = Field(ge=0)
    targets_file: str | None = None
    fit: tuple[str, ...] = ()
    """Ids of the fitted targets, in the likelihood's order; empty: by role (filled in by
    :func:`load_config`). Part of :meth:`digest`, so filled in exactly as it was listed."""
    hold_out: tuple[str, ...] = ()
    """Ids of the other targets the report compares (every role but ``fitted``)."""
    discrepancy_sd: dict[str, float] = Field(default_factory=dict)
    free_parameters: tuple[str, ...] = Field(min_length=1)
    simulation: SimulationSpec = SimulationSpec()
    sampler: SamplerSpec = SamplerSpec()
    importance: ImportanceSpec | None = None
    """Stage 2 (importance sampling); absent: the emcee chain is the posterior."""
    ensemble_size: int = Field(default=200, ge=1)
    predictive_seed: int = Field(default=1, ge=0)
    virtual: VirtualSpec = VirtualSpec()
    notes: str = ""

    @model_validator(mode="after")
    def _lists(self) -> CalibrationConfig:
        if self.hold_out and not self.fit:
            raise ValueError("list both fit and hold_out, or neither (targets chosen by role)")
        both = set(self.fit) & set(self.hold_out)
        if both:
            raise ValueError(f"target {sorted(both)[0]!r} both in fit and hold_out")
        if len(set(self.free_parameters)) != len(self.free_parameters):
            raise ValueError("free_parameters has duplicates")
        for k, v in self.discrepancy_sd.items():
            if v < 0:
                raise ValueError(f"discrepancy_sd[{k}] must be >= 0")
        return self

    def digest(self) -> str:
        """SHA-256 of the canonical JSON of the config (what a posterior belongs to).

        A config without ``importance`` hashes as before that section existed.
        """
        doc = self.model_dump(mode="json")
        if doc.get("importance") is None:
            doc.pop("importance", None)
        if doc["sampler"].get("moves") == "stretch":
            doc["sampler"].pop("moves")
        text = json.dumps(doc, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def chain_digest(self) -> str:
        """SHA-256 of what determines the chain's steps (a checkpoint belongs to it).

        Leaves out the number of steps, the burn-in, the checkpoint interval and what is
        done after sampling (stage 2 included), so a run can be extended or re-summarized
        from its checkpoint. Leaves out where the target file is: a checkpoint is keyed by
        its *contents* (:func:`blinasim.calibrate.checkpoints.input_hashes`), so moving a
        project folder keeps its checkpoints and editing the targets does not.
        """
        doc = self.model_dump(mode="json")
        doc.pop("importance", None)
        doc.pop("targets_file", None)
        if doc["sampler"].get("moves") == "stretch":
            doc["sampler"].pop("moves")
        for k in ("steps", "burn_in", "checkpoint_every"):
            doc["sampler"].pop(k)
        for k in ("ensemble_size", "predictive_seed", "notes", "hold_out"):
            doc.pop(k)
        text = json.dumps(doc, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def by_role(self) -> CalibrationConfig:
        """The config with ``fit`` / ``hold_out`` filled in from the targets' roles.

        A config that lists them is returned unchanged (after :meth:`load_targets` checks
        them against the roles).
        """
        ts = self.load_targets()
        if self.fit:
            return self
        fit = tuple(t.id for t in ts.targets if t.role == "fitted")
        rest = tuple(t.id for t in ts.targets if t.role != "fitted")
        return self.model_copy(update={"fit": fit, "hold_out": rest})

    def load_targets(self) -> TargetSet:
        """The targets this calibration compares, in file order, checked against the roles.

        Every target with a simulated counterpart (``summary``): the ``fitted`` ones (the
        likelihood's) and the others (held out, derived, closed form: compared in the
        report). Listed ``fit`` / ``hold_out`` must agree with the roles.
        """
        ts = load_targets(self.targets_file)
        ids = set(ts.ids())
        compared = tuple(t for t in ts.targets if t.summary is not None)
        fitted = [t.id for t in compared if t.role == "fitted"]
        for i in list(self.fit) + list(self.hold_out) + list(self.discrepancy_sd):
            if i not in ids:
                raise InputError(f"a target id of {ts.origin}", field="fit/hold_out", got=i)
        if self.fit:
            for i in self.fit:
                if ts.get(i).role != "fitted":
                    raise InputError(
                        f"only targets with role fitted in {ts.origin} (this one: "
                        f"{ts.get(i).role})",
                        field="fit",
                        got=i,
                    )
            missing = [i for i in fitted if i not in set(self.fit)]
            if missing:
                raise InputError(
                    f"every target with role fitted in {ts.origin}", field="fit", got=missing[0]
                )
            for i in self.hold_out:
                if ts.get(i).summary is None:
                    raise InputError(
                        "a target with a summary (simulated counterpart)",
                        field="hold_out",
                        got=i,
                    )
            listed = set(self.fit) | set(self.hold_out)
            unlisted = [t.id for t in compared if t.id not in listed]
            if unlisted:
                raise InputError(
                    "every target with a summary listed in fit or hold_out",
                    field="hold_out",
                    got=unlisted[0],
                )
        return TargetSet(ts.trial, ts.version, compared, ts.origin)


def default_config_path() -> Path:
    """The shipped AALL1731 calibration config."""
    return Path(str(resources.files("blinasim") / "data" / "calibration" / "aall1731.yaml"))


def load_config(path: str | Path | None = None) -> CalibrationConfig:
    """Read and validate a calibration config (default: the shipped one)."""
    p = Path(path) if path is not None else default_config_path()
    doc: dict[str, Any] = load_yaml_mapping(p, "calibration config")
    try:
        cfg = CalibrationConfig.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"] if not str(x).startswith("function"))
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise InputError(msg, file=p, field=loc or "<top>") from None
    if cfg.targets_file is not None and not Path(cfg.targets_file).is_absolute():
        cfg = cfg.model_copy(update={"targets_file": str(p.parent / cfg.targets_file)})
    return cfg.by_role()


__all__ = [
    "CalibrationConfig",
    "ImportanceSpec",
    "SamplerSpec",
    "SimulationSpec",
    "VirtualSpec",
    "default_config_path",
    "load_config",
]

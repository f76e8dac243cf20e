"""Load, validate and resolve protocol files.

``load_protocol("aall1731")`` loads a shipped protocol by name; ``load_protocol(path)`` a file.
Any mistake in a file raises one :class:`~blinasim.errors.ProtocolError` whose one-line
message names the file, the field path (``arms.B.phases[3].drugs[0].dose``) and what was
expected. Resolution applies ``include`` (arms of another protocol), ``extends`` + ``edits``
(an arm as a variant of another), computes every phase's days from diagnosis, and checks
cross-references (``extends``, ``ends.days_after_start_of``, ``randomized_after``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from blinasim.errors import ProtocolError
from blinasim.protocol.core import Arm, DrugAdministration, Phase, Protocol
from blinasim.protocol.doses import check_dose
from blinasim.protocol.schema import ArmSpec, DrugSpec, EditSpec, PhaseSpec, ProtocolSpec
from blinasim.protocol.yamlio import (
    _from_validation,
    _parse_yaml,
    _read_yaml,
)

MAX_INCLUDE_DEPTH = 8
MAX_THERAPY_DAYS = 20 * 366


def shipped_dir() -> Path:
    """Folder of the protocols shipped with the package."""
    return Path(str(resources.files("blinasim") / "protocol" / "protocols"))


def shipped_protocols() -> dict[str, Path]:
    """Shipped protocols by name.

    ``aall1731``, examples such as ``aall1731_three_cycles`` and the what-if backbone
    variants such as ``aall0232_im1_methotrexate``.
    """
    base = shipped_dir()
    out: dict[str, Path] = {}
    for folder in (base, base / "examples", base / "whatif"):
        if folder.is_dir():
            for f in sorted(folder.glob("*.yaml")):
                out.setdefault(f.stem, f)
    return out


def _locate(
    ref: str | Path,
    relative_to: Path | None = None,
    *,
    file: str | None = None,
    field: str | None = None,
) -> Path:
    s = str(ref)
    looks_like_path = isinstance(ref, Path) or s.endswith((".yaml", ".yml")) or "/" in s
    if looks_like_path:
        p = Path(s)
        if not p.is_absolute() and relative_to is not None:
            p = relative_to / p
        if p.is_file():
            return p
        raise ProtocolError("an existing protocol file", file=file or p, field=field, got=s)
    shipped = shipped_protocols()
    if s in shipped:
        return shipped[s]
    raise ProtocolError(
        f"a shipped protocol name (one of {sorted(shipped)}) or a path to a YAML file",
        file=file,
        field=field,
        got=s,
    )


@dataclasses.dataclass(frozen=True)
class _FlatPhase:
    spec: PhaseSpec
    file: str
    path: str


@dataclasses.dataclass(frozen=True)
class _FlatArm:
    name: str
    label: str
    stratum: str
    randomized_after: str | None
    control: bool
    source: str | None
    description: str | None
    extends: str | None
    phases: tuple[_FlatPhase, ...]
    file: str
    path: str


def _flatten_file(path: Path, stack: tuple[str, ...]) -> tuple[ProtocolSpec, dict[str, _FlatArm]]:
    doc = _read_yaml(path)
    return _flatten_doc(doc, str(path), path.parent, stack)


def _flatten_doc(
    doc: dict[str, Any], file: str, base_dir: Path | None, stack: tuple[str, ...]
) -> tuple[ProtocolSpec, dict[str, _FlatArm]]:
    try:
        spec = ProtocolSpec.model_validate(doc)
    except ValidationError as exc:
        raise _from_validation(exc, file) from None

    included: dict[str, _FlatArm] = {}
    bases: dict[str, _FlatArm] = {}
    if spec.include is not None:
        inc_path = _locate(spec.include.protocol, base_dir, file=file, field="include.protocol")
        key = str(inc_path.resolve())
        if key in stack or len(stack) >= MAX_INCLUDE_DEPTH:
            raise ProtocolError(
                "an include chain without cycles (at most 8 deep)",
                file=file,
                field="include.protocol",
                got=spec.include.protocol,
            )
        _, bases = _flatten_file(inc_path, (*stack, key))
        wanted = spec.include.arms if spec.include.arms is not None else tuple(bases)
        for i, arm_name in enumerate(wanted):
            if arm_name not in bases:
                raise ProtocolError(
                    f"an arm of {spec.include.protocol} (one of {list(bases)})",
                    file=file,
                    field=f"include.arms[{i}]",
                    got=arm_name,
                )
            included[arm_name] = bases[arm_name]

    local: dict[str, _FlatArm] = {}

    def get(name: str, chain: tuple[str, ...], field: str) -> _FlatArm:
        if name in local:
            return local[name]
        if name not in spec.arms:
            if name in bases:
                return bases[name]
            raise ProtocolError(
                f"an arm of this protocol or of its include (one of "
                f"{sorted(set(spec.arms) | set(bases))})",
                file=file,
                field=field,
                got=name,
            )
        if name in chain:
            raise ProtocolError(
                "arms that do not extend themselves (no cycle)",
                file=file,
                field=f"arms.{name}.extends",
                got=" -> ".join((*chain, name)),
            )
        arm = spec.arms[name]
        if arm.extends is None:
            flat = _flat_from_spec(name, arm, file)
        elif arm.extends == name and name in bases:
            flat = _flat_extend(name, arm, bases[name], file)  # a variant of the included arm
        else:
            base = get(arm.extends, (*chain, name), f"arms.{name}.extends")
            flat = _flat_extend(name, arm, base, file)
        local[name] = flat
        return flat

    for name in spec.arms:
        get(name, (), f"arms.{name}")
    arms = {**included, **{n: local[n] for n in spec.arms}}
    if not arms:
        raise ProtocolError("at least one arm (arms: or include:)", file=file, field="arms")
    return spec, arms


def _flat_from_spec(name: str, arm: ArmSpec, file: str) -> _FlatArm:
    assert arm.phases is not None
    assert arm.label is not None
    assert arm.stratum is not None
    assert arm.control is not None
    return _FlatArm(
        name=name,
        label=arm.label,
        stratum=arm.stratum,
        randomized_after=arm.randomized_after,
        control=arm.control,
        source=arm.source,
        description=arm.description,
        extends=None,
        phases=tuple(
            _FlatPhase(p, file, f"arms.{name}.phases[{i}]") for i, p in enumerate(arm.phases)
        ),
        file=file,
        path=f"arms.{name}",
    )


def _flat_extend(name: str, arm: ArmSpec, base: _FlatArm, file: str) -> _FlatArm:
    phases = list(base.phases)
    for i, edit in enumerate(arm.edits):
        phases = _apply_edit(phases, edit, f"arms.{name}.edits[{i}]", file, name)
    fields = arm.model_fields_set

    def pick(key: str, inherited: Any) -> Any:
        return getattr(arm, key) if key in fields else inherited

    return _FlatArm(
        name=name,
        label=pick("label", base.label),
        stratum=pick("stratum", base.stratum),
        randomized_after=pick("randomized_after", base.randomized_after),
        control=pick("control", base.control),
        source=pick("source", base.source),
        description=pick("description", base.description),
        extends=base.name,
        phases=tuple(phases),
        file=file,
        path=f"arms.{name}",
    )


def _apply_edit(
    phases: list[_FlatPhase], edit: EditSpec, path: str, file: str, arm: str
) -> list[_FlatPhase]:
    names = [p.spec.name for p in phases]

    def index_of(target: str, key: str) -> int:
        if target not in names:
            raise ProtocolError(
                f"a phase of the arm being extended (one of {names})",
                file=file,
                field=f"{path}.{key}",
                got=target,
            )
        return names.index(target)

    new = [_FlatPhase(p, file, f"{path}.phases[{j}]") for j, p in enumerate(edit.phases or ())]
    if edit.insert_after is not None:
        k = index_of(edit.insert_after, "insert_after") + 1
        return phases[:k] + new + phases[k:]
    if edit.insert_before is not None:
        k = index_of(edit.insert_before, "insert_before")
        return phases[:k] + new + phases[k:]
    if edit.replace is not None:
        k = index_of(edit.replace, "replace")
        return phases[:k] + new + phases[k + 1 :]
    if edit.remove is not None:
        k = index_of(edit.remove, "remove")
        return phases[:k] + phases[k + 1 :]
    assert edit.set_dose is not None
    ov = edit.set_dose
    if ov.phase is not None:
        index_of(ov.phase, "set_dose.phase")
    hits = 0
    out: list[_FlatPhase] = []
    for fp in phases:
        if ov.phase is not None and fp.spec.name != ov.phase:
            out.append(fp)
            continue
        drugs: list[DrugSpec] = []
        for d in fp.spec.drugs:
            if d.drug == ov.drug and (ov.route is None or d.route == ov.route):
                hits += 1
                check_dose(
                    ov.dose,
                    drug=d.drug,
                    unit=d.unit,
                    route=d.route,
                    arm=arm,
                    phase=fp.spec.name,
                    file=file,
                    field=f"{path}.set_dose.dose",
                )
                d = d.model_copy(update={"dose": ov.dose, "source": ov.source})
            drugs.append(d)
        out.append(dataclasses.replace(fp, spec=fp.spec.model_copy(update={"drugs": tuple(drugs)})))
    if hits == 0:
        where = f" in phase {ov.phase}" if ov.phase else ""
        raise ProtocolError(
            f"a drug given in the arm{where}",
            file=file,
            field=f"{path}.set_dose.drug",
            got=ov.drug if ov.route is None else f"{ov.drug} {ov.route}",
        )
    return out


# --------------------------------------------------------------------------------------
# resolution: days from diagnosis and cross-references


def _resolve_arm(flat: _FlatArm) -> Arm:
    seen: dict[str, str] = {}
    starts: dict[str, int] = {}
    resolved: list[Phase] = []
    cursor = 0
    for fp in flat.phases:
        spec = fp.spec
        if spec.name in seen:
            raise ProtocolError(
                f"a phase name unique within arm {flat.name} (already used at {seen[spec.name]})",
                file=fp.file,
                field=f"{fp.path}.name",
                got=spec.name,
            )
        seen[spec.name] = fp.path
        start = cursor + spec.gap_days
        if spec.length_days is not None:
            end = start + spec.length_days
        else:
            assert spec.ends is not None
            ref = spec.ends.days_after_start_of
            if ref not in starts:
                raise ProtocolError(
                    f"an earlier phase of arm {flat.name} (one of {list(starts)})",
                    file=fp.file,
                    field=f"{fp.path}.ends.days_after_start_of",
                    got=ref,
                )
            end = starts[ref] + spec.ends.days
            if end <= start:
                raise ProtocolError(
                    f"an end after the phase's start (day {start}) in arm {flat.name}",
                    file=fp.file,
                    field=f"{fp.path}.ends.days",
                    got=f"end on day {end}",
                )
        if end > MAX_THERAPY_DAYS:
            raise ProtocolError(
                f"therapy within {MAX_THERAPY_DAYS} days of diagnosis",
                file=fp.file,
                field=f"{fp.path}",
                got=f"ends on day {end}",
            )
        cycle = spec.repeat_every_days or (end - start)
        drugs = []
        for j, d in enumerate(spec.drugs):
            last = d.continuous.to_day if d.continuous is not None else max(d.days or (1,))
            if last > cycle:
                what = "cycle" if spec.repeat_every_days else "phase"
                key = "continuous.to_day" if d.continuous is not None else "days"
                raise ProtocolError(
                    f"days within the {what} (1..{cycle})",
                    file=fp.file,
                    field=f"{fp.path}.drugs[{j}].{key}",
                    got=last,
                )
            doses = [("dose", d.dose)] + [
                (f"dose_by_age[{k}].dose", b.dose) for k, b in enumerate(d.dose_by_age or ())
            ]
            for key, value in doses:
                check_dose(
                    value,
                    drug=d.drug,
                    unit=d.unit,
                    route=d.route,
                    arm=flat.name,
                    phase=spec.name,
                    file=fp.file,
                    field=f"{fp.path}.drugs[{j}].{key}",
                )
            drugs.append(
                DrugAdministration(
                    drug=d.drug,
                    dose=d.dose,
                    unit=d.unit,
                    route=d.route,
                    days=d.days,
                    continuous=(
                        (d.continuous.from_day, d.continuous.to_day)
                        if d.continuous is not None
                        else None
                    ),
                    max_dose=d.max_dose,
                    source=d.source,
                    note=d.note,
                    dose_by_age=(
                        tuple((b.from_age_years, b.dose) for b in d.dose_by_age)
                        if d.dose_by_age is not None
                        else None
                    ),
                )
            )
        resolved.append(
            Phase(
                name=spec.name,
                kind=spec.kind,
                start_day=start,
                end_day=end,
                drugs=tuple(drugs),
                source=spec.source,
                gap_days=spec.gap_days,
                repeat_every_days=spec.repeat_every_days,
                ends_after_start_of=spec.ends.days_after_start_of if spec.ends else None,
                ends_days=spec.ends.days if spec.ends else None,
                note=spec.note,
            )
        )
        starts[spec.name] = start
        cursor = end
    if not resolved:
        raise ProtocolError("at least one phase", file=flat.file, field=f"{flat.path}.phases")
    if flat.randomized_after is not None and flat.randomized_after not in seen:
        raise ProtocolError(
            f"a phase of arm {flat.name} (one of {list(seen)}) or null",
            file=flat.file,
            field=f"{flat.path}.randomized_after",
            got=flat.randomized_after,
        )
    return Arm(
        name=flat.name,
        label=flat.label,
        stratum=flat.stratum,
        randomized_after=flat.randomized_after,
        control=flat.control,
        phases=tuple(resolved),
        source=flat.source,
        description=flat.description,
        extends=flat.extends,
    )


def _build(spec: ProtocolSpec, flats: dict[str, _FlatArm], origin: str) -> Protocol:
    arms = {name: _resolve_arm(f) for name, f in flats.items()}
    return Protocol(
        name=spec.name,
        description=spec.description,
        source=spec.source,
        arms=arms,
        origin=origin,
    )


def load_protocol(path_or_name: str | Path) -> Protocol:
    """Load and validate a protocol: a shipped name (``"aall1731"``) or a YAML file path."""
    path = _locate(path_or_name)
    key = str(path.resolve())
    spec, flats = _flatten_file(path, (key,))
    return _build(spec, flats, str(path))


def load_protocol_text(
    text: str, *, origin: str = "<string>", base_dir: str | Path | None = None
) -> Protocol:
    """Load a protocol from YAML text; relative ``include`` paths are taken from ``base_dir``."""
    doc = _parse_yaml(text, origin)
    spec, flats = _flatten_doc(doc, origin, Path(base_dir) if base_dir is not None else None, ())
    return _build(spec, flats, origin)


def load_protocol_data(
    doc: Mapping[str, Any], *, origin: str = "<data>", base_dir: str | Path | None = None
) -> Protocol:
    """Load a protocol from an already-parsed mapping (e.g. built in code)."""
    if not isinstance(doc, Mapping):
        raise ProtocolError("a mapping (a protocol)", file=origin, got=type(doc).__name__)
    base = Path(base_dir) if base_dir is not None else None
    spec, flats = _flatten_doc(dict(doc), origin, base, ())
    return _build(spec, flats, origin)

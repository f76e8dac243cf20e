"""Calibration checkpoints as plain data: an ``.npz`` archive, never a pickle.

A checkpoint is one file written atomically with :func:`numpy.savez` and read back with
``numpy.load(..., allow_pickle=False)``, so a file placed in the output folder by someone
else can at worst be refused, never run code. The archive holds the numeric arrays and a
``__header__`` member, UTF-8 JSON with

* ``format`` and ``kind`` (``stage1`` or ``stage2``: a stage-1 file in stage 2's place is
  recognized as such),
* ``identity``: what the saved state belongs to, compared by the caller before it resumes
  (the config digest the stage already computed, and :func:`input_hashes`: SHA-256 of the
  contents of the parameter file and the target file, and the package version),
* ``meta``: scalars and strings of the state,
* ``sha256``: checksum of ``kind``, ``identity``, ``meta`` and every array (name, dtype,
  shape, bytes).

:func:`read_checkpoint` raises :class:`CheckpointError` (one line) for anything that is not
an intact checkpoint of the expected kind: truncated, bytes flipped, another format, a
pickle. The stages then warn and start over; a checkpoint of another config is the
caller's one-line :class:`~blinasim.errors.InputError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from blinasim import _version, config
from blinasim.calibrate.targets import default_targets_path
from blinasim.errors import InputError
from blinasim.io.checkpoint import atomic_write_bytes

FORMAT = "blinasim.calibrate.checkpoint/1"
HEADER = "__header__"
STAGE1 = "stage1"
STAGE2 = "stage2"
KIND_LABEL = {STAGE1: "stage-1 (emcee)", STAGE2: "stage-2 (importance)"}

log = logging.getLogger("blinasim.calibrate")

Warn = Callable[[str], None]
T = TypeVar("T")


class CheckpointError(Exception):
    """A checkpoint file that cannot be used (``str()`` is one line: what is wrong)."""


@dataclass(frozen=True)
class Checkpoint:
    """The contents of a checkpoint file."""

    kind: str
    identity: dict[str, Any]
    meta: dict[str, Any]
    arrays: dict[str, NDArray[Any]]


def _sha_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def input_hashes(targets_file: str | Path | None) -> dict[str, str]:
    """SHA-256 of the contents of the model inputs a calibration depends on.

    The parameter file (priors and every fixed value), the target file and the package
    version (the model's code and data). The calibration config itself enters through the
    stages' config digests, which leave out what may change on resume (steps, draws).
    """
    targets = Path(targets_file) if targets_file is not None else default_targets_path()
    return {
        "parameters_sha256": _sha_file(config.default_parameters_path()),
        "targets_sha256": _sha_file(targets),
        "blinasim_version": _version.__version__,
    }


INPUT_LABEL = {
    "parameters_sha256": "the parameter file",
    "targets_sha256": "the target file",
    "blinasim_version": "the blinasim version",
}


def identity_difference(saved: Mapping[str, Any], now: Mapping[str, Any]) -> str | None:
    """Which part of two identities differs (``None``: the same), for a one-line error."""
    if saved == now:
        return None
    s_in, n_in = saved.get("inputs") or {}, now.get("inputs") or {}
    for key, label in INPUT_LABEL.items():
        if isinstance(s_in, Mapping) and s_in.get(key) != n_in.get(key):
            return f"{label} changed since it was made"
    return "made with another config"


def _checksum(kind: str, identity: Any, meta: Any, arrays: Mapping[str, NDArray[Any]]) -> str:
    h = hashlib.sha256()
    head = json.dumps({"kind": kind, "identity": identity, "meta": meta}, sort_keys=True)
    h.update(head.encode("utf-8"))
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"\0{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def write_checkpoint(
    path: str | Path,
    kind: str,
    identity: Mapping[str, Any],
    meta: Mapping[str, Any],
    arrays: Mapping[str, NDArray[Any]],
) -> Path:
    """Write a checkpoint atomically (numeric arrays only: no object arrays)."""
    for name, a in arrays.items():
        if a.dtype.hasobject or name == HEADER:
            raise ValueError(f"checkpoint array {name!r}: object arrays are not allowed")
    ident, met = json.loads(json.dumps(identity)), json.loads(json.dumps(meta))
    header = {
        "format": FORMAT,
        "kind": kind,
        "identity": ident,
        "meta": met,
        "sha256": _checksum(kind, ident, met, arrays),
    }
    blob = np.frombuffer(json.dumps(header, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    buf = io.BytesIO()
    members: dict[str, NDArray[Any]] = {HEADER: blob, **arrays}
    np.savez(buf, allow_pickle=False, **members)
    return atomic_write_bytes(path, buf.getvalue())


def read_checkpoint(path: str | Path, kind: str) -> Checkpoint:
    """Read and verify a checkpoint of ``kind``; :class:`CheckpointError` if unusable.

    Never unpickles: ``allow_pickle=False`` refuses pickles and object arrays.
    """
    try:
        # our own handle: np.load leaks the one it opens when the archive is truncated
        with Path(path).open("rb") as fh, np.load(fh, allow_pickle=False) as z:
            names = list(z.files)
            if HEADER not in names:
                raise CheckpointError("not a blinasim calibration checkpoint (no header)")
            header = json.loads(bytes(z[HEADER].tobytes()).decode("utf-8"))
            arrays = {n: np.asarray(z[n]) for n in names if n != HEADER}
    except CheckpointError:
        raise
    except AttributeError:  # np.load gave a plain array (a .npy file), not an archive
        raise CheckpointError("not a blinasim calibration checkpoint (not an archive)") from None
    except Exception as exc:  # truncated or flipped bytes fail in zipfile, npy or JSON
        detail = str(exc).splitlines()[0][:80] if str(exc) else ""
        raise CheckpointError(
            f"unreadable: truncated or corrupt ({type(exc).__name__}: {detail})"
        ) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError("not a blinasim calibration checkpoint (unknown format)")
    got = header.get("kind")
    if got != kind:
        what = KIND_LABEL.get(str(got), repr(got))
        raise CheckpointError(f"a {what} checkpoint, not a {KIND_LABEL[kind]} one")
    ident, meta = header.get("identity"), header.get("meta")
    if not isinstance(ident, dict) or not isinstance(meta, dict):
        raise CheckpointError("not a blinasim calibration checkpoint (bad header)")
    if _checksum(kind, ident, meta, arrays) != header.get("sha256"):
        raise CheckpointError("corrupt: its SHA-256 checksum does not match its data")
    return Checkpoint(kind=kind, identity=ident, meta=meta, arrays=arrays)


def discard(path: Path, why: str, warn: Warn | None) -> None:
    """Report an unusable checkpoint in one line; it is replaced when the stage saves."""
    msg = f"warning: ignoring the checkpoint {path.name}: {why}; starting that stage again"
    if warn is not None:
        warn(msg)
    else:
        log.warning(msg)


def warn_legacy(path: Path, warn: Warn | None) -> None:
    """One line if ``path``, a pickled checkpoint of an earlier version, exists (never read)."""
    if path.exists():
        msg = (
            f"warning: {path.name} is a pickled checkpoint of an earlier blinasim; it is never "
            "read (unpickling a file can run code): its stage starts again"
        )
        if warn is not None:
            warn(msg)
        else:
            log.warning(msg)


def resume_from(
    path: Path,
    read: Callable[[Path], tuple[T, dict[str, Any]]],
    identity: Mapping[str, Any],
    warn: Warn | None,
    *,
    legacy: Path,
    expected: str,
    field: str,
) -> T | None:
    """The stage's checkpoint at ``path`` if it is usable and of this run, else None.

    Unreadable or corrupt: one warning line, the stage starts again. Of another config or
    other model inputs: a one-line :class:`InputError` reading ``expected`` (with ``{why}``
    filled in). Absent: a warning if the pickled ``legacy`` file of an earlier version is
    there (never read).
    """
    if not path.exists():
        warn_legacy(legacy, warn)
        return None
    try:
        obj, saved = read(path)
    except CheckpointError as exc:
        discard(path, str(exc), warn)
        return None
    why = identity_difference(saved, identity)
    if why is not None:
        raise InputError(
            expected.format(why=why), file=path, field=field, got=str(saved.get("digest", "?"))[:12]
        )
    return obj


__all__ = [
    "FORMAT",
    "STAGE1",
    "STAGE2",
    "Checkpoint",
    "CheckpointError",
    "discard",
    "identity_difference",
    "input_hashes",
    "read_checkpoint",
    "resume_from",
    "warn_legacy",
    "write_checkpoint",
]

"""Output folders and paths shared by ``analyze``, ``compare``, ``trial`` and ``demo``.

- :func:`claim_out_dir` checks an output folder before any work: one line (exit 2) for a
  file, ``/dev/null``, a read-only folder, or a folder that holds another run's results
  (a ``manifest.json`` of another kind or other inputs, or results without a manifest).
  The same command with the same inputs may write into its own folder again.
- :func:`shown_path` is how a path appears in written reports and JSON: never an
  absolute machine path (the file's name), a relative one as the user gave it.
- :func:`write_run_manifest` records kind and inputs so that the next run can tell.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from blinasim._version import __version__
from blinasim.errors import InputError
from blinasim.io.checkpoint import atomic_write_bytes
from blinasim.io.outdir import prepare_out_dir

MANIFEST = "manifest.json"
# files that only a blinasim run writes: a folder holding one belongs to some run
RESULT_FILES = (
    "summary.json",
    "report.html",
    "comparison.json",
    "comparison.csv",
    "adtte.parquet",
    "replicates.parquet",
    "checkpoints",
)


def shown_path(path: str | Path) -> str:
    """``path`` for a report: its name if absolute, else as given (no machine paths)."""
    p = Path(path)
    return p.name if p.is_absolute() else str(p)


def timestamped(prefix: str) -> Path:
    """``results/<prefix>-<UTC timestamp>`` (a fresh default folder per run)."""
    return Path("results") / f"{prefix}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


def _describe(doc: Mapping[str, Any]) -> str:
    kind = doc.get("kind", "unknown")
    return f"results of a run of kind '{kind}'"


def claim_out_dir(
    path: str | Path,
    *,
    kind: str,
    match: Mapping[str, Any],
    field: str = "--out",
    refuse_unmarked: bool = True,
    hint: str | None = None,
) -> Path:
    """Create ``path`` for results of ``kind``, or raise a one-line :class:`InputError`.

    An existing ``manifest.json`` must have the same ``kind`` and the same values for every
    key of ``match``. Results without a manifest count as another run's unless
    ``refuse_unmarked`` is False (a job that resumes from its own checkpoints, a fixed
    folder such as ``results/demo`` that earlier versions wrote without a manifest).
    ``hint`` ends the message (default: use another ``field``).
    """
    p = prepare_out_dir(path, field=field)
    hint = hint or f"use another {field}"
    man = p / MANIFEST
    if man.is_file():
        try:
            doc = json.loads(man.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            doc = None
        if not isinstance(doc, dict):
            raise InputError(
                f"a folder for new results ({hint})",
                file=p,
                field=field,
                got="an unreadable manifest.json",
            )
        if doc.get("kind") != kind:
            raise InputError(
                f"a folder for {kind} results ({hint})",
                file=p,
                field=field,
                got=_describe(doc),
            )
        for key, want in match.items():
            if _plain(doc.get(key)) != _plain(want):
                raise InputError(
                    f"a folder of an earlier {kind} run with the same {key} ({hint})",
                    file=p,
                    field=field,
                    got=f"{key} {_plain(doc.get(key))!r}",
                )
        return p
    found = [name for name in RESULT_FILES if refuse_unmarked and (p / name).exists()]
    if found:
        raise InputError(
            f"a folder for new results ({hint})",
            file=p,
            field=field,
            got=f"another run's {found[0]}",
        )
    return p


def _plain(x: Any) -> Any:
    """JSON round trip, so that tuples and lists, ints and floats compare alike."""
    return json.loads(json.dumps(x, sort_keys=True, default=str))


def write_run_manifest(
    folder: Path, *, kind: str, inputs: Mapping[str, Any], files: Mapping[str, str]
) -> Path:
    """``manifest.json``: blinasim version, kind, inputs and files (0644, atomic)."""
    doc = {
        "blinasim_version": __version__,
        "kind": kind,
        "inputs": dict(inputs),
        "files": dict(files),
    }
    text = json.dumps(_plain(doc), indent=2, sort_keys=True) + "\n"
    return atomic_write_bytes(folder / MANIFEST, text.encode("utf-8"))


__all__ = ["claim_out_dir", "shown_path", "timestamped", "write_run_manifest"]

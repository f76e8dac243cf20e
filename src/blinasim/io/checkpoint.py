"""Atomic files: write to a temporary file in the same folder, fsync, then ``os.replace``.

A reader sees either the old file or the complete new one, never a partial write, even
if the writer is killed with SIGKILL mid-write (the temporary file is left behind and
ignored: its name starts with ``.tmp-``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

# rw-r--r--: results and checkpoints are readable by the team, like any file ``open`` makes
FILE_MODE = 0o644


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=p.parent)
    try:
        os.fchmod(fd, FILE_MODE)  # mkstemp makes 0600; results are for others to read
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    return atomic_write_bytes(path, text.encode("utf-8"))


def json_ready(x: Any) -> Any:
    """``x`` for a results file: numpy scalars as numbers, NaN and infinities as null."""
    if isinstance(x, dict):
        return {str(k): json_ready(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_ready(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def write_results_json(path: str | Path, obj: Any) -> Path:
    """A results file (``summary.json``): deterministic (sorted keys), NaN as null, atomic."""
    return atomic_write_json(path, json_ready(obj))


def read_json(path: str | Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


__all__ = [
    "atomic_write_bytes",
    "atomic_write_json",
    "json_ready",
    "read_json",
    "write_results_json",
]

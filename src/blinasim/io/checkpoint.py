"""Atomic files: write to a temporary file in the same folder, fsync, then ``os.replace``.

A reader sees either the old file or the complete new one, never a partial write, even
if the writer is killed with SIGKILL mid-write (the temporary file is left behind and
ignored: its name starts with ``.tmp-``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

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


def read_json(path: str | Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


__all__ = [
    "atomic_write_bytes",
    "atomic_write_json",
    "read_json",
]

"""Output folders, checked before any work starts: a user mistake is one line."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from blinasim.errors import InputError


def prepare_out_dir(path: str | Path, *, field: str = "--out") -> Path:
    """Create ``path`` as a writable folder, or raise a one-line :class:`InputError`.

    Refuses a path that is a file or a device (``/dev/null``), a folder that cannot be
    created (missing permissions, a file in the way) and a folder that cannot be written.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError("a folder for the results (this path is a file)", file=p, field=field)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"a folder that can be created ({exc.strerror or exc})", file=p, field=field
        ) from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".tmp-probe-", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(
            f"a writable folder ({exc.strerror or exc})", file=p, field=field
        ) from None
    return p


__all__ = ["prepare_out_dir"]

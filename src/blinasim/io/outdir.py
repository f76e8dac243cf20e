"""Output folders, checked before any work starts: a user mistake is one line."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from blinasim.errors import InputError
from blinasim.io.checkpoint import atomic_write_json, read_json


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


def claim_job_folder(
    out: Path,
    identity: dict[str, str],
    *,
    kind: str,
    command: str,
    noun: str,
    checkpoint_prefixes: tuple[str, ...],
    outputs: tuple[str, ...],
    fresh: bool,
) -> Path:
    """Bind ``out`` to a job's inputs (its ``checkpoints/config.json``), or refuse it.

    ``identity`` holds the job's input hashes and their ``digest``; ``kind`` is the
    manifest's kind of the job (``blinasim <command>``, a ``noun`` in messages). A folder
    holding another job's results, or this job with other inputs, is refused in one line;
    ``fresh`` first deletes this job's checkpoints (names starting with
    ``checkpoint_prefixes``) and ``outputs``. Returns the checkpoints folder.
    """
    prepare_out_dir(out)
    ckpt = out / "checkpoints"
    bind = ckpt / "config.json"
    manifest = out / "manifest.json"
    if fresh:
        if ckpt.is_dir():
            for f in ckpt.iterdir():
                if f.is_file() and f.name.startswith(
                    (*checkpoint_prefixes, "config.json", ".tmp-")
                ):
                    f.unlink()
        for name in outputs:
            (out / name).unlink(missing_ok=True)
    if manifest.exists() and not bind.exists():
        try:
            got = read_json(manifest).get("kind")
        except (OSError, ValueError, AttributeError):
            got = None
        if got != kind:
            raise InputError(
                f"a new folder or one of a previous 'blinasim {command}' (it holds another "
                "job's results: use another --out)",
                file=out,
                got=got,
            )
    if bind.exists():
        try:
            old = read_json(bind)
        except (OSError, ValueError):
            old = None
        if not isinstance(old, dict) or old.get("digest") != identity["digest"]:
            inputs = old.get("inputs") if isinstance(old, dict) else None
            changed = [
                k
                for k, v in identity.items()
                if k != "digest" and isinstance(inputs, dict) and inputs.get(k) != v
            ]
            raise InputError(
                f"a folder of a {noun} with the same inputs: it was made with other inputs"
                + (f" ({', '.join(changed)} differ)" if changed else "")
                + "; use a new --out or --fresh",
                file=out,
            )
    else:
        ckpt.mkdir(parents=True, exist_ok=True)
        atomic_write_json(bind, {"digest": identity["digest"], "inputs": identity})
    return ckpt

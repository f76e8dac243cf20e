"""Run reports under a results folder, listed and served read-only.

Only regular files below the results root are served, found by walking the root (never by
joining a requested path): a request names a folder and a file by their relative path,
which must match one found in the walk, so ``..``, absolute paths, symbolic links that
leave the root and hidden files cannot be reached. Only a few file types are served.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

SERVED_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
MAX_DEPTH = 3
MAX_FOLDERS = 500


@dataclass(frozen=True)
class RunFolder:
    """One results folder that holds a report."""

    rel: str
    """Path relative to the root, with ``/``."""
    kind: str
    files: tuple[str, ...]


def _inside(root: Path, p: Path) -> bool:
    try:
        p.resolve().relative_to(root)
    except (OSError, ValueError):
        return False
    return True


def list_runs(root: Path) -> list[RunFolder]:
    """Folders under ``root`` (to :data:`MAX_DEPTH` levels) that hold ``report.html``."""
    root = root.resolve()
    if not root.is_dir():
        return []
    out: list[RunFolder] = []
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack and len(out) < MAX_FOLDERS:
        folder, depth = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        files = [
            e.name
            for e in entries
            if not e.name.startswith(".")
            and e.suffix in SERVED_TYPES
            and e.is_file()
            and _inside(root, e)
        ]
        if "report.html" in files and folder != root:
            kind = "run"
            manifest = folder / "manifest.json"
            with contextlib.suppress(OSError, ValueError, AttributeError):
                kind = str(json.loads(manifest.read_text(encoding="utf-8")).get("kind", kind))
            rel = folder.relative_to(root).as_posix()
            out.append(RunFolder(rel, kind, tuple(files)))
        if depth < MAX_DEPTH:
            stack.extend(
                (e, depth + 1)
                for e in reversed(entries)
                if not e.name.startswith(".") and e.is_dir() and _inside(root, e)
            )
    return sorted(out, key=lambda r: r.rel)


def find_file(root: Path, requested: str) -> tuple[Path, str] | None:
    """The file and media type that ``requested`` (``folder/.../file``) names, or None."""
    parts = PurePosixPath(requested).parts
    if not parts or len(parts) > MAX_DEPTH + 1 or any(p in ("", ".", "..") for p in parts):
        return None
    folder, name = "/".join(parts[:-1]), parts[-1]
    for run in list_runs(root):
        if run.rel == folder and name in run.files:
            path = root.resolve() / folder / name
            return path, SERVED_TYPES[path.suffix]
    return None

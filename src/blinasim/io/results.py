"""Tidy results on disk: one Parquet file per table and a JSON run manifest beside them."""

from __future__ import annotations

import datetime as dt
import io
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from blinasim._version import __version__
from blinasim.io.checkpoint import atomic_write_bytes, atomic_write_json, read_json

MANIFEST = "manifest.json"


def write_tables(out_dir: str | Path, tables: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """Write each table to ``<out_dir>/<name>.parquet`` (atomically); returns name -> file."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, df in tables.items():
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        atomic_write_bytes(d / f"{name}.parquet", buf.getvalue())
        files[name] = f"{name}.parquet"
    return files


def write_manifest(
    out_dir: str | Path,
    *,
    kind: str,
    design: Mapping[str, Any],
    design_hash: str,
    seed: int,
    files: Mapping[str, str],
    timings: Mapping[str, float],
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write the run manifest (version, design, seed, timings, files) as JSON."""
    doc: dict[str, Any] = {
        "blinasim_version": __version__,
        "kind": kind,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "seed": seed,
        "design_hash": design_hash,
        "design": dict(design),
        "files": dict(files),
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
        "disclaimer": "research model, not medical advice",
    }
    if extra:
        doc.update(extra)
    return atomic_write_json(Path(out_dir) / MANIFEST, doc)


def read_manifest(out_dir: str | Path) -> dict[str, Any]:
    """Read a run manifest."""
    doc = read_json(Path(out_dir) / MANIFEST)
    assert isinstance(doc, dict)
    return doc


__all__ = ["MANIFEST", "read_manifest", "write_manifest", "write_tables"]

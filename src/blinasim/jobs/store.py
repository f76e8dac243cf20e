"""Checkpoints of finished replicates that can be trusted, and streamed result tables.

Replicate ``r`` is saved as three Parquet files (``rNNNNN.{adtte,patients,looks}.parquet``)
and, last, a JSON marker ``rNNNNN.done.json`` holding the run's identity, the replicate
index, its small results (CONSORT counts, decision, headline estimates), the SHA-256 of
each Parquet file and a checksum of the marker itself. On resume a marker is used only if
all of that checks out; a truncated, corrupt, swapped or foreign checkpoint is reported in
one line and recomputed, never used and never a traceback. Nothing here unpickles.

Resuming reads the markers only (a few kB each); the tables are read back one replicate at
a time when the result files are assembled, so memory does not grow with the number of
replicates.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from blinasim.io.checkpoint import FILE_MODE, atomic_write_bytes, atomic_write_json
from blinasim.jobs.simulate import ReplicateOutput
from blinasim.jobs.summary import ReplicateEstimates

TABLES = ("adtte", "patients", "looks")


def _scalar(x: Any) -> Any:
    """Numpy scalars as Python numbers (JSON has no int64)."""
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(f"not JSON serializable: {type(x).__name__}")


def _canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), default=_scalar).encode("utf-8")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as strings: every replicate's table then has the same schema."""
    cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return df
    return df.assign(**{c: df[c].astype(str) for c in cats})


class ReplicateStore:
    """The checkpoint folder of one run (``identity``: the hash of the run's inputs)."""

    def __init__(self, folder: Path, identity: str, warn: Callable[[str], None]) -> None:
        self.folder = folder
        self.identity = identity
        self.warn = warn

    def _file(self, r: int, name: str) -> Path:
        return self.folder / f"r{r:05d}.{name}.parquet"

    def _marker(self, r: int) -> Path:
        return self.folder / f"r{r:05d}.done.json"

    def save(self, out: ReplicateOutput, estimates: ReplicateEstimates) -> dict[str, Any]:
        """Write one finished replicate atomically (tables first, the marker last)."""
        r = out.replicate
        digests = {}
        for name in TABLES:
            buf = io.BytesIO()
            _plain(getattr(out, name)).to_parquet(buf, index=False)
            data = buf.getvalue()
            atomic_write_bytes(self._file(r, name), data)
            digests[name] = hashlib.sha256(data).hexdigest()
        doc: dict[str, Any] = {
            "identity": self.identity,
            "replicate": r,
            "draw": out.draw,
            "consort": out.consort,
            "decision": out.decision,
            "stopped_early": out.stopped_early,
            "data_cut": out.data_cut,
            "estimates": estimates.to_json(),
            "sha256": digests,
        }
        doc = json.loads(_canonical(doc))  # exactly what a reader will see
        doc["checksum"] = hashlib.sha256(_canonical(doc)).hexdigest()
        atomic_write_json(self._marker(r), doc)
        # the caller gets what a resumed run reads back: the same numbers either way
        doc["estimates"] = ReplicateEstimates.from_json(doc["estimates"])
        return doc

    def load(self, r: int) -> dict[str, Any] | None:
        """The verified marker of replicate ``r``, or None (absent or not trustworthy)."""
        marker = self._marker(r)
        if not marker.exists():
            return None
        problem = self._check(marker, r)
        if problem is None:
            doc: dict[str, Any] = json.loads(marker.read_bytes())
            doc["estimates"] = ReplicateEstimates.from_json(doc["estimates"])
            return doc
        self.warn(f"warning: {marker}: {problem}; recomputing replicate {r}")
        marker.unlink(missing_ok=True)
        return None

    def _check(self, marker: Path, r: int) -> str | None:
        try:
            doc = json.loads(marker.read_bytes())
        except (OSError, UnicodeDecodeError, ValueError):
            return "unreadable or truncated checkpoint"
        if not isinstance(doc, dict) or not isinstance(doc.get("checksum"), str):
            return "not a blinasim replicate checkpoint"
        claimed = doc.pop("checksum")
        if hashlib.sha256(_canonical(doc)).hexdigest() != claimed:
            return "checksum mismatch (corrupt checkpoint)"
        if doc.get("identity") != self.identity:
            return "checkpoint of a run with other inputs"
        if doc.get("replicate") != r:
            return f"checkpoint of replicate {doc.get('replicate')} in the place of {r}"
        sums = doc.get("sha256")
        if not isinstance(sums, dict) or set(sums) != set(TABLES):
            return "checkpoint without table checksums"
        for name in TABLES:
            f = self._file(r, name)
            if not f.exists():
                return f"missing {f.name}"
            if _sha256_file(f) != sums[name]:
                return f"{f.name} does not match its checksum"
        return None

    def table(self, r: int, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """One replicate's table (after :meth:`load` verified it)."""
        return pd.read_parquet(self._file(r, name), columns=columns)

    def concat(self, replicates: Iterable[int], name: str, dest: Path) -> None:
        """Write the replicates' ``name`` tables one after another to ``dest`` (streamed)."""
        concat_parquet((self._file(r, name) for r in replicates), dest)


def _tables(files: Iterable[Path]) -> Iterator[pa.Table]:
    for f in files:
        yield pq.read_table(f)


def concat_parquet(files: Iterable[Path], dest: Path) -> None:
    """Concatenate Parquet files with one schema into ``dest`` atomically, one at a time."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
    os.close(fd)
    writer: pq.ParquetWriter | None = None
    try:
        for t in _tables(files):
            if writer is None:
                schema = t.schema
                writer = pq.ParquetWriter(tmp, schema)
            elif t.schema != schema:
                t = t.cast(schema)
            writer.write_table(t)
        if writer is None:
            raise ValueError(f"no tables to write to {dest}")
        writer.close()
        writer = None
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, dest)
    except BaseException:
        if writer is not None:
            writer.close()
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["TABLES", "ReplicateStore", "concat_parquet"]

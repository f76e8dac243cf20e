"""Checkpoints of finished blocks of PSA iterations (``blinasim cea``), trusted or recomputed.

A task (``base``, or block ``bNNNNN`` of PSA iterations) is saved as one Parquet file per
table (``<key>.<table>.parquet``) and, last, a JSON marker ``<key>.done.json`` with the
run's identity, the key, its iterations, the SHA-256 of each table and a
checksum of the marker itself, the scheme of :mod:`blinasim.jobs.store` (``blinasim run``).
On resume a marker is used only if all of that checks out; anything else is reported in
one line and the block recomputed. Nothing here unpickles. The result tables stream from
the checkpoints (:func:`blinasim.jobs.store.concat_parquet`), one block at a time.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from blinasim.io.checkpoint import atomic_write_bytes, atomic_write_json
from blinasim.jobs.store import concat_parquet


def _canonical(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class BlockStore:
    """The checkpoint folder of one CEA run (``identity``: the hash of its inputs)."""

    def __init__(self, folder: Path, identity: str, warn: Callable[[str], None]) -> None:
        self.folder = folder
        self.identity = identity
        self.warn = warn

    def _file(self, key: str, name: str) -> Path:
        return self.folder / f"{key}.{name}.parquet"

    def _marker(self, key: str) -> Path:
        return self.folder / f"{key}.done.json"

    def save(self, key: str, iterations: list[int], tables: Mapping[str, pd.DataFrame]) -> None:
        """Write one finished task atomically (tables first, the marker last)."""
        digests = {}
        for name in sorted(tables):
            buf = io.BytesIO()
            tables[name].to_parquet(buf, index=False)
            data = buf.getvalue()
            atomic_write_bytes(self._file(key, name), data)
            digests[name] = hashlib.sha256(data).hexdigest()
        doc: dict[str, Any] = {
            "identity": self.identity,
            "key": key,
            "iterations": [int(i) for i in iterations],
            "sha256": digests,
        }
        doc["checksum"] = hashlib.sha256(_canonical(doc)).hexdigest()
        atomic_write_json(self._marker(key), doc)

    def load(self, key: str, iterations: list[int], tables: tuple[str, ...]) -> bool:
        """True if task ``key`` (of ``iterations``, with ``tables``) is saved and verified."""
        marker = self._marker(key)
        if not marker.exists():
            return False
        problem = self._check(marker, key, iterations, tables)
        if problem is None:
            return True
        self.warn(f"warning: {marker}: {problem}; recomputing {key}")
        marker.unlink(missing_ok=True)
        return False

    def _check(
        self, marker: Path, key: str, iterations: list[int], tables: tuple[str, ...]
    ) -> str | None:
        try:
            doc = json.loads(marker.read_bytes())
        except (OSError, UnicodeDecodeError, ValueError):
            return "unreadable or truncated checkpoint"
        if not isinstance(doc, dict) or not isinstance(doc.get("checksum"), str):
            return "not a blinasim CEA checkpoint"
        claimed = doc.pop("checksum")
        if hashlib.sha256(_canonical(doc)).hexdigest() != claimed:
            return "checksum mismatch (corrupt checkpoint)"
        if doc.get("identity") != self.identity:
            return "checkpoint of a run with other inputs"
        if doc.get("key") != key or doc.get("iterations") != iterations:
            return f"checkpoint of {doc.get('key')} in the place of {key}"
        sums = doc.get("sha256")
        if not isinstance(sums, dict) or set(sums) != set(tables):
            return "checkpoint without table checksums"
        for name in tables:
            f = self._file(key, name)
            if not f.exists():
                return f"missing {f.name}"
            if _sha256(f) != sums[name]:
                return f"{f.name} does not match its checksum"
        return None

    def concat(self, keys: Iterable[str], name: str, dest: Path) -> None:
        """Write the tasks' ``name`` tables one after another to ``dest`` (streamed)."""
        concat_parquet((self._file(k, name) for k in keys), dest)

    @staticmethod
    def read(path: Path) -> pd.DataFrame:
        """A result table written by :meth:`concat`."""
        return pd.read_parquet(path)


__all__ = ["BlockStore"]

"""A results folder, read by a report: its kind, its JSON documents and its Parquet tables.

A report renders from the files of a results folder only (``blinasim report DIR`` re-renders
it without re-running anything). The kind comes from ``manifest.json`` (``kind``); a
calibration folder is recognised by its ``report.json`` and posterior CSV. Tables are read
with only the columns asked for and, for large ones, only the rows of the replicates asked
for (pyarrow filters), so memory stays bounded whatever the number of replicates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from blinasim.errors import InputError

RUN = "run"
ANALYSIS = "analysis"
COMPARE = "compare"
CALIBRATE = "calibrate"
VALIDATE = "validate"
CEA = "cea"
RELAPSE = "relapse"

# manifest ``kind`` -> report
KINDS = {
    "aall1731-replication": RUN,
    "analysis": ANALYSIS,
    "compare": COMPARE,
    "calibration": CALIBRATE,
    "relapse-trial": RELAPSE,
    "cea": CEA,
}

EXPECTED = (
    "a results folder of 'blinasim run', 'analyze', 'compare', 'example', 'calibrate' or "
    "'validate' (with its manifest.json, a calibration's report.json and posterior CSV, or "
    "a validation's validate.json)"
)


@dataclass(frozen=True)
class ResultsFolder:
    """One results folder and the report kind it holds."""

    path: Path
    kind: str
    manifest: dict[str, Any]

    def json(self, name: str) -> Any:
        """A JSON document of the folder; one line naming it if missing or unreadable."""
        f = self.path / name
        try:
            return json.loads(f.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{name} in the results folder (missing)", file=self.path) from None
        except (OSError, ValueError) as exc:
            raise InputError(f"a readable {name}", file=self.path, got=str(exc)) from None

    def has(self, name: str) -> bool:
        """Whether the folder holds ``name``."""
        return (self.path / name).is_file()

    def table(
        self,
        name: str,
        columns: Sequence[str] | None = None,
        *,
        replicates: Sequence[int] | None = None,
        replicate_column: str = "replicate",
    ) -> pd.DataFrame:
        """``name.parquet``: only ``columns`` (those present), only ``replicates``' rows."""
        f = self.path / f"{name}.parquet"
        if not f.is_file():
            raise InputError(f"{name}.parquet in the results folder (missing)", file=self.path)
        have = set(pq.read_schema(f).names)
        cols = None if columns is None else [c for c in columns if c in have]
        filters = None
        if replicates is not None and replicate_column in have:
            filters = [(replicate_column, "in", [int(r) for r in replicates])]
        try:
            df: pd.DataFrame = pq.read_table(f, columns=cols, filters=filters).to_pandas()
        except (OSError, ValueError) as exc:
            raise InputError(f"a readable {name}.parquet", file=self.path, got=str(exc)) from None
        return df


def open_folder(path: str | Path) -> ResultsFolder:
    """The results folder at ``path``, or one line saying it is not one."""
    p = Path(path)
    if not p.is_dir():
        raise InputError(EXPECTED, file=p, got="not a folder" if p.exists() else "no such folder")
    man = p / "manifest.json"
    doc: Any = None
    if man.is_file():
        try:
            doc = json.loads(man.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise InputError(EXPECTED, file=p, got="an unreadable manifest.json") from None
    if isinstance(doc, dict) and doc.get("kind") in KINDS:
        return ResultsFolder(p, KINDS[str(doc["kind"])], doc)
    if (p / "report.json").is_file() and any(p.glob("posterior_*.csv")):
        return ResultsFolder(p, CALIBRATE, doc if isinstance(doc, dict) else {})
    if (p / "validate.json").is_file():
        return ResultsFolder(p, VALIDATE, doc if isinstance(doc, dict) else {})
    got = f"manifest kind {doc.get('kind')!r}" if isinstance(doc, dict) else "no manifest.json"
    raise InputError(EXPECTED, file=p, got=got)


__all__ = [
    "ANALYSIS",
    "CALIBRATE",
    "COMPARE",
    "RELAPSE",
    "RUN",
    "VALIDATE",
    "ResultsFolder",
    "open_folder",
]

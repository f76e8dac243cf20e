"""Input/output: Parquet results with a JSON run manifest, ADaM ADTTE layout, checkpoints."""

from blinasim.io.adam import ADTTE_COLUMNS, adtte_frame
from blinasim.io.checkpoint import atomic_write_bytes, atomic_write_json, read_json
from blinasim.io.results import read_manifest, write_manifest, write_tables

__all__ = [
    "ADTTE_COLUMNS",
    "adtte_frame",
    "atomic_write_bytes",
    "atomic_write_json",
    "read_json",
    "read_manifest",
    "write_manifest",
    "write_tables",
]

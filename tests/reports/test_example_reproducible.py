"""Same seed, same numbers: two `blinasim example` runs write byte-identical summary.json files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_example_twice_gives_byte_identical_summaries(tmp_path: Path) -> None:
    runs = [tmp_path / "first", tmp_path / "second"]
    procs = []
    for cwd in runs:
        cwd.mkdir()
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "blinasim", "example"],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        )
    for proc in procs:  # both run at once: half the wall time on two cores
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out.decode(errors="replace")
        assert b"not medical advice" in out

    first, second = (cwd / "results" / "example" / "summary.json" for cwd in runs)
    summary = json.loads(first.read_text(encoding="utf-8"))
    assert summary["endpoints"], "the demo summary has no endpoint"
    assert "not medical advice" in summary["disclaimer"]
    assert first.read_bytes() == second.read_bytes()
    assert (runs[0] / "results" / "example" / "report.html").stat().st_size > 10_000

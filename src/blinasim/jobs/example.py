"""``blinasim example``: the statistics on a bundled real trial (R's veteran data), reported.

(``blinasim demo`` is its deprecated name; ``make demo`` runs the main job, ``blinasim run``.)
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from blinasim.jobs.analyze import analyze_example
from blinasim.jobs.text import print_run


def run_example(console: Console, out_dir: Path | None = None) -> Path:
    """Analyse and report the bundled veteran trial; returns the report path."""
    out = out_dir or Path("results") / "example"
    console.print("[bold]blinasim example[/]: survival statistics on the bundled veteran trial")
    run = analyze_example(out, field="example output folder")
    print_run(console, run)
    report = out / "report.html"
    console.print(f"\nreport: [bold]{escape(str(report))}[/]")
    console.print(f"summary: {escape(str(out / 'summary.json'))}")
    console.print(f"[dim]{escape(run.statement)}[/]", soft_wrap=True)
    return report


__all__ = ["run_example"]

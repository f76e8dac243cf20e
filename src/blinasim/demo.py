"""``blinasim demo`` / ``make demo``: the main job, end to end, with a readable summary."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from blinasim.analysis.run import AnalysisRun, analyze_example
from blinasim.disclaimer import DISCLAIMER


def print_run(console: Console, run: AnalysisRun) -> None:
    """Print each endpoint's milestone estimates and comparison as rich tables."""
    for a in run.analyses:
        yrs = a.milestone_days / 365.25
        t = Table(title=f"{a.paramcd}: {a.treatment} vs {a.control}", title_justify="left")
        for col in ("arm", "n", "events", f"{yrs:g}-y estimate", "95% CI", "median (days)"):
            t.add_column(col, justify="left" if col == "arm" else "right")
        for arm in a.arms:
            m = arm.milestone
            t.add_row(
                arm.arm,
                f"{arm.n:,}",
                f"{arm.events:,}",
                m.percent(),
                f"{m.lower:.1%}-{m.upper:.1%}",
                "not reached" if arm.median_days != arm.median_days else f"{arm.median_days:,.0f}",
            )
        console.print(t)
        hr = a.hazard_ratio
        strat = "stratified " if a.stratified else ""
        console.print(
            f"  {strat}log-rank χ² = {a.logrank_chisq:.2f}, p = {a.logrank_p:.3g};  "
            f"{strat}Cox HR = {hr.estimate:.3f} ({hr.lower:.3f}-{hr.upper:.3f});  "
            f"RMST difference to {a.tau_days:,.0f} d = {a.rmst_difference.estimate:,.1f} d "
            f"({a.rmst_difference.lower:,.1f} to {a.rmst_difference.upper:,.1f})"
        )


def run_demo(console: Console, out_dir: Path | None = None) -> Path:
    """Run the demonstration and return the report path."""
    out = out_dir or Path("results") / "demo"
    console.print("[bold]blinasim demo[/]: survival statistics on the bundled veteran trial")
    run = analyze_example(out)
    print_run(console, run)
    report = out / "report.html"
    console.print(
        f"\nreport: [bold]{report.resolve()}[/]\nsummary: {(out / 'summary.json').resolve()}"
    )
    console.print(f"[dim]{DISCLAIMER}[/]")
    return report

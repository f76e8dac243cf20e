"""``blinasim demo`` / ``make demo``: the main job, end to end, with a readable summary."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from blinasim.analysis.report import hr_text, pooled_table
from blinasim.analysis.run import AnalysisRun, analyze_example


def print_run(console: Console, run: AnalysisRun) -> None:
    """Print the reference arm first, then each endpoint's estimates as rich tables."""
    for line in run.lines():
        console.print(line, highlight=False, markup=False)
    for p in run.pooled:
        t = Table(
            title=escape(
                f"{p.paramcd}: {p.treatment} vs {p.control}, "
                f"{len(p.per_replicate)} replicates pooled"
            ),
            title_justify="left",
        )
        for col in ("quantity", "mean", "2.5%-97.5%", "estimable"):
            t.add_column(col, justify="left" if col == "quantity" else "right")
        for r in pooled_table(p).to_dict(orient="records"):
            t.add_row(*(escape(str(r[c])) for c in ("quantity", "mean", "2.5%-97.5%", "estimable")))
        console.print(t)
    for a in run.analyses:
        yrs = a.milestone_days / 365.25
        t = Table(title=escape(f"{a.paramcd}: {a.treatment} vs {a.control}"), title_justify="left")
        for col in ("arm", "n", "events", f"{yrs:g}-y estimate", "95% CI", "median (days)"):
            t.add_column(col, justify="left" if col == "arm" else "right")
        for arm in a.arms:
            m = arm.milestone
            t.add_row(
                escape(arm.arm),
                f"{arm.n:,}",
                f"{arm.events:,}",
                m.percent(),
                m.interval(sep="-") if m.estimable else "–",
                "not reached" if arm.median_days != arm.median_days else f"{arm.median_days:,.0f}",
            )
        console.print(t)
        strat = "stratified " if a.stratified else ""
        lr = (
            f"not estimable: {a.logrank_note}"
            if a.logrank_note
            else f"χ² = {a.logrank_chisq:.2f}, p = {a.logrank_p:.3g}"
        )
        rd = a.rmst_difference
        console.print(
            f"  {strat}log-rank {lr};  {strat}Cox HR {a.treatment} vs {a.control} = "
            f"{hr_text(a.hazard_ratio)};  RMST difference to {a.tau_days:,.0f} d = "
            + (
                rd.flag()
                if not rd.estimable
                else f"{rd.estimate:,.1f} d ({rd.lower:,.1f} to {rd.upper:,.1f})"
            ),
            highlight=False,
            markup=False,
        )


def run_demo(console: Console, out_dir: Path | None = None) -> Path:
    """Run the demonstration and return the report path."""
    out = out_dir or Path("results") / "demo"
    console.print("[bold]blinasim demo[/]: survival statistics on the bundled veteran trial")
    run = analyze_example(out, field="demo output folder")
    print_run(console, run)
    report = out / "report.html"
    console.print(f"\nreport: [bold]{escape(str(report))}[/]")
    console.print(f"summary: {escape(str(out / 'summary.json'))}")
    console.print(f"[dim]{escape(run.statement)}[/]", soft_wrap=True)
    return report

"""What the jobs print on the terminal: the end of ``blinasim run`` and an analysis."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from blinasim.analysis.run import AnalysisRun
from blinasim.disclaimer import DISCLAIMER
from blinasim.jobs.run import RunResult
from blinasim.jobs.summary import Agg
from blinasim.reports.analysis import milestone_table, pooled_table, tests_table


def print_summary(console: Console, result: RunResult) -> None:
    """Simulated versus published headline results, and where the outputs are."""
    s = result.summary
    pub = s["published"]
    t = Table(title=f"AALL1731 in silico: {s['replicates']} simulated trials", title_justify="left")
    for c in ("3-year DFS", "simulated", "95% interval", "published"):
        t.add_column(c, justify="left" if c == "3-year DFS" else "right")

    def row(label: str, sim: Agg | None, p: dict[str, float] | None) -> None:
        if sim is None:
            return
        interval = f"{sim['lower']:.1%}-{sim['upper']:.1%}" if "lower" in sim else ""
        published = "" if p is None else f"{p['estimate']:.1%} ± {p['se']:.1%}"
        t.add_row(label, f"{sim['estimate']:.1%}", interval, published)

    for arm in ("blinatumomab", "chemotherapy"):
        row(f"all randomized, {arm}", s["dfs_3y"].get(arm), pub["dfs_3y"].get(arm))
    for st in ("SR-Average", "SR-High"):
        for arm in ("blinatumomab", "chemotherapy"):
            row(
                f"{st}, {arm}",
                s["dfs_3y_by_stratum"].get(st, {}).get(arm),
                pub["dfs_3y_by_stratum"].get(st, {}).get(arm),
            )
    console.print(t)
    hr = s["hazard_ratio_dfs"]
    console.print(
        f"DFS hazard ratio {hr['estimate']:.2f} ({hr['lower']:.2f}-{hr['upper']:.2f}); "
        f"stratified log-rank p < 0.05 in {s['logrank_power']['p_below_0.05']:.0%} of trials; "
        f"{s['stopped_early_fraction']:.0%} stopped early for benefit."
    )
    console.print(f"parameters: {result.calibration}")
    console.print(f"report: [bold]{(result.out_dir / 'report.html').resolve()}[/]")
    console.print(f"[dim]{DISCLAIMER}[/]")


def print_run(console: Console, run: AnalysisRun) -> None:
    """An analysis on the terminal: reference arm and data first, then each endpoint."""
    for line in run.lines():
        console.print(line, highlight=False, markup=False)
    summary = run.summary()
    for e in summary["endpoints"].values():
        if "pooled" in e:
            t = Table(
                title=escape(
                    f"{e['paramcd']}: {e['treatment']} vs {e['control']}, "
                    f"{e['replicates']} replicates pooled"
                ),
                title_justify="left",
            )
            cols = ("quantity", "mean", "2.5%-97.5%", "estimable")
            for col in cols:
                t.add_column(col, justify="left" if col == "quantity" else "right")
            for r in pooled_table(e).to_dict(orient="records"):
                t.add_row(*(escape(str(r[c])) for c in cols))
            console.print(t)
            continue
        m = milestone_table(e)
        t = Table(
            title=escape(f"{e['paramcd']}: {e['treatment']} vs {e['control']}"),
            title_justify="left",
        )
        for col in m.columns:
            t.add_column(str(col), justify="left" if col == "arm" else "right")
        for row in m.itertuples(index=False):
            t.add_row(*(escape(f"{v:,}" if isinstance(v, int) else str(v)) for v in row))
        console.print(t)
        for r in tests_table(e).to_dict(orient="records"):
            p = f", p {r['p-value']}" if r["p-value"] else ""
            console.print(f"  {r['statistic']}: {r['value']}{p}", highlight=False, markup=False)

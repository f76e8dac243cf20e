"""The short plain-text summary printed at the end of ``blinasim run``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from blinasim.disclaimer import DISCLAIMER

if TYPE_CHECKING:
    from blinasim.jobs.run import RunResult


def print_summary(console: Console, result: RunResult) -> None:
    """Simulated versus published headline results, and where the outputs are."""
    s = result.summary
    pub = s["published"]
    t = Table(title=f"AALL1731 in silico: {s['replicates']} simulated trials", title_justify="left")
    for c in ("3-year DFS", "simulated", "95% interval", "published"):
        t.add_column(c, justify="left" if c == "3-year DFS" else "right")

    def row(label: str, sim: dict[str, float] | None, p: dict[str, float] | None) -> None:
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

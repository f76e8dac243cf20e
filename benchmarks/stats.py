"""Time blinasim.stats against R survival and lifelines on the same data, in one run.

    .venv/bin/python benchmarks/stats.py            # n = 1e4, 1e5, 1e6 + batched 10,000 x 1,440
    .venv/bin/python benchmarks/stats.py --quick    # n = 1e4 only, batched 1,000 x 1,440
    .venv/bin/python benchmarks/stats.py --v2-only  # only the statistics v2 rows (issue 17)

Computations (same simulated data for every tool; integer days, so many ties):
  km          Kaplan-Meier with log-log CI     survfit(Surv(t, e) ~ 1)        KaplanMeierFitter
  km_cont     the same on continuous times (no ties: every time distinct)
  logrank_s3  2 groups, 3 strata               survdiff(... + strata(s))      (lifelines has none)
  logrank     2 groups, unstratified           survdiff(Surv(t, e) ~ g)       logrank_test
  cox_efron   1 covariate, Efron ties          coxph(Surv(t, e) ~ x)          CoxPHFitter
Statistics v2 (issue 17), n = 1e5 and 1e6 (1e4 with --quick), each beside its R peer:
  logrank_3arm  3 groups, k-sample (2 df)      survdiff(Surv(t, e) ~ arm3)
  cox_3arm      arm as a factor, Efron ties    coxph(Surv(t, e) ~ factor(arm3))
  wlr_fh05_0    FH(0.5, 0) weighted log-rank   survdiff(..., rho = 0.5)
  wlr_fh0_05    FH(0, 0.5) weighted log-rank   simtrial's formulas in base R (simtrial is not
                                               installable here): counting process + weights
  maxcombo      4 FH tests + MVN p-value       the same + mvtnorm::pmvnorm (GenzBretz, as simtrial)
  rmst_diff     RMST difference at 1,500 days  summary(survfit(... ~ group), rmean = 1500)
  milestone     KM difference at 3 years       summary(survfit(... ~ group), times = 1095.75)
  weibull_fit   Weibull fit, intercept only    survreg(Surv(t, e) ~ 1, dist = "weibull")
  lognormal_fit log-normal fit                 survreg(..., dist = "lognormal")
  gompertz_fit  Gompertz fit (flexsurv's)      nlminb + optimHess on the Gompertz likelihood
                                               with its gradient (flexsurv is not installable)
  spline_k2     Royston-Parmar, 2 knots        nlminb + optimHess, analytic gradient (the
                                               likelihood of scripts/golden/spline.R)
  cure_weibull  Weibull mixture cure           nlminb + optimHess on the likelihood of
                                               scripts/golden/cure.R (dsurvreg/psurvreg)
  guyot         Guyot reconstruction of n patients from 1,000 read-in points: no R peer
                installable (IPDfromKM is not in Debian), blinasim only
Times are the best of a few repeats (seconds, computation only: R is timed inside R with
system.time on data read once from a temp file). lifelines is skipped at a size when the
previous size predicts more than 60 s. numba kernels are compiled (or loaded from cache)
by a warm-up call before timing; the batched log-rank reports the first call in a fresh
process with an empty numba cache (cold: compile included) and the warm time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _r import time_r

LIFELINES_LIMIT_S = 60.0
ROOT = Path(__file__).resolve().parents[1]


def best_of(fn: Callable[[], Any], repeats: int) -> float:
    out = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out


def make_data(n: int, seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    strata = rng.integers(0, 3, n)
    x = rng.normal(size=n)
    rate = 1 / 900 * np.exp(-0.3 * group + 0.2 * strata + 0.4 * x)
    event_time = rng.exponential(1 / rate)
    cens = rng.uniform(1, 2400, n)
    arm3 = rng.integers(0, 3, n)  # drawn last: the columns above do not change
    return pd.DataFrame(
        {
            "time": np.ceil(np.minimum(event_time, cens)),
            "time_c": np.minimum(event_time, cens),
            "event": (event_time <= cens).astype(np.int64),
            "group": group,
            "strata": strata,
            "x": x,
            "arm3": arm3,
        }
    )


R_SCRIPT = r"""
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
reps <- as.integer(args[2])
best <- function(f) min(sapply(seq_len(reps), function(i) system.time(f())[["elapsed"]]))
km <- best(function() survfit(Surv(time, event) ~ 1, data = d, conf.type = "log-log"))
kmc <- best(function() survfit(Surv(time_c, event) ~ 1, data = d, conf.type = "log-log"))
lr3 <- best(function() survdiff(Surv(time, event) ~ group + strata(strata), data = d))
lr <- best(function() survdiff(Surv(time, event) ~ group, data = d))
cx <- best(function() coxph(Surv(time, event) ~ x, data = d, ties = "efron"))
cat(sprintf("km=%.6f\nkm_cont=%.6f\nlogrank_s3=%.6f\nlogrank=%.6f\ncox_efron=%.6f\n",
            km, kmc, lr3, lr, cx))
"""


R_SCRIPT_V2 = r"""
suppressPackageStartupMessages({library(survival); library(mvtnorm)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
reps <- as.integer(args[2])
best <- function(f) min(sapply(seq_len(reps), function(i) system.time(f())[["elapsed"]]))
cpr <- function(tte, event, group) {  # simtrial's counting_process, unstratified, base R
  u <- sort(unique(tte)); idx <- match(tte, u); k <- length(u)
  tab <- function(i) as.numeric(tabulate(i, k))  # doubles: n^2 overflows integers
  at <- tab(idx); at1 <- tab(idx[group == 1])
  dd <- tab(idx[event == 1]); d1 <- tab(idx[event == 1 & group == 1])
  n <- rev(cumsum(rev(at))); n1 <- rev(cumsum(rev(at1)))
  keep <- dd > 0 & n - n1 > 0 & n1 > 0
  n <- n[keep]; n1 <- n1[keep]; dd <- dd[keep]; d1 <- d1[keep]
  list(s = c(1, cumprod(1 - dd / n)[-length(dd)]), ome = d1 - n1 / n * dd,
       v = (n - n1) * n1 * dd * (n - dd) / n^2 / (n - 1))
}
wlr <- function(x, rho, gamma) {
  w <- x$s^rho * (1 - x$s)^gamma
  -sum(w * x$ome) / sqrt(sum(w^2 * x$v))
}
maxc <- function(x) {
  rg <- rbind(c(0, 0), c(0, 0.5), c(0.5, 0), c(0.5, 0.5))
  w <- sapply(1:4, function(i) x$s^rg[i, 1] * (1 - x$s)^rg[i, 2])
  cv <- t(w) %*% (w * x$v)
  z <- as.numeric(t(w) %*% x$ome) / sqrt(diag(cv))
  1 - pmvnorm(lower = rep(min(z), 4), corr = cov2cor(cv),
              algorithm = GenzBretz(maxpts = 50000, abseps = 0.00001))[1]
}
lr3 <- best(function() survdiff(Surv(time, event) ~ arm3, data = d))
cx3 <- best(function() coxph(Surv(time, event) ~ factor(arm3), data = d, ties = "efron"))
sd5 <- best(function() survdiff(Surv(time, event) ~ group, data = d, rho = 0.5))
fh <- best(function() wlr(cpr(d$time, d$event, d$group), 0, 0.5))
mc <- best(function() maxc(cpr(d$time, d$event, d$group)))
rm <- best(function() summary(survfit(Surv(time, event) ~ group, data = d), rmean = 1500)$table)
ms <- best(function() summary(survfit(Surv(time, event) ~ group, data = d), times = 1095.75))
wb <- best(function() survreg(Surv(time, event) ~ 1, data = d, dist = "weibull"))
ln <- best(function() survreg(Surv(time, event) ~ 1, data = d, dist = "lognormal"))
gnll <- function(p, t, e) {
  a <- p[1]; b <- exp(p[2])
  -sum(e * (log(b) + a * t) - (b / a) * expm1(a * t))
}
ggr <- function(p, t, e) {
  a <- p[1]; b <- exp(p[2]); q <- expm1(a * t) / a; dq <- (t * exp(a * t) - q) / a
  -c(sum(e * t) - b * sum(dq), sum(e) - b * sum(q))
}
gz <- best(function() {
  f <- nlminb(c(1e-5, log(sum(d$event) / sum(d$time))), gnll, ggr, t = d$time, e = d$event)
  optimHess(f$par, gnll, ggr, t = d$time, e = d$event)
})
basis <- function(x, knots) {
  kmin <- knots[1]; kmax <- knots[length(knots)]
  b <- cbind(1, x); db <- cbind(0, rep(1, length(x)))
  for (kj in knots[-c(1, length(knots))]) {
    lam <- (kmax - kj) / (kmax - kmin)
    b <- cbind(b, pmax(x - kj, 0)^3 - lam * pmax(x - kmin, 0)^3 - (1 - lam) * pmax(x - kmax, 0)^3)
    db <- cbind(db, 3 * (pmax(x - kj, 0)^2 - lam * pmax(x - kmin, 0)^2 -
                         (1 - lam) * pmax(x - kmax, 0)^2))
  }
  list(b = b, db = db)
}
snll <- function(g, B, e, lt) {
  eta <- drop(B$b %*% g); deta <- drop(B$db %*% g)
  if (any(deta[e == 1] <= 0)) return(1e300)
  -(sum(e * (eta + log(ifelse(e == 1, deta, 1)) - lt)) - sum(exp(eta)))
}
sgr <- function(g, B, e, lt) {
  eta <- drop(B$b %*% g); inv <- ifelse(e == 1, 1 / drop(B$db %*% g), 0)
  -(drop(e %*% B$b) + drop(inv %*% B$db) - drop(exp(eta) %*% B$b))
}
sp <- best(function() {
  lt <- log(d$time); kn <- quantile(lt[d$event == 1], seq(0, 1, length.out = 4), names = FALSE)
  B <- basis(lt, kn); w <- survreg(Surv(time, event) ~ 1, data = d, dist = "weibull")
  f <- nlminb(c(-coef(w)[[1]] / w$scale, 1 / w$scale, 0, 0), snll, sgr, B = B, e = d$event,
              lt = lt)
  optimHess(f$par, snll, sgr, B = B, e = d$event, lt = lt)
})
cnll <- function(p, t, e) {
  pi <- plogis(p[1]); s <- exp(p[3])
  -sum(ifelse(e == 1, log(1 - pi) + log(dsurvreg(t, p[2], s, "weibull")),
              log(pi + (1 - pi) * (1 - psurvreg(t, p[2], s, "weibull")))))
}
cu <- best(function() {
  w <- survreg(Surv(time, event) ~ 1, data = d, dist = "weibull")
  f <- nlminb(c(qlogis(0.3), coef(w)[[1]], log(w$scale)), cnll, t = d$time, e = d$event)
  optimHess(f$par, cnll, t = d$time, e = d$event)
})
cat(sprintf(paste0("logrank_3arm=%.6f\ncox_3arm=%.6f\nwlr_fh05_0=%.6f\nwlr_fh0_05=%.6f\n",
                   "maxcombo=%.6f\nrmst_diff=%.6f\nmilestone=%.6f\nweibull_fit=%.6f\n",
                   "lognormal_fit=%.6f\ngompertz_fit=%.6f\nspline_k2=%.6f\ncure_weibull=%.6f\n"),
            lr3, cx3, sd5, fh, mc, rm, ms, wb, ln, gz, sp, cu))
"""
V2_ROWS = (
    "logrank_3arm",
    "cox_3arm",
    "wlr_fh05_0",
    "wlr_fh0_05",
    "maxcombo",
    "rmst_diff",
    "milestone",
    "weibull_fit",
    "lognormal_fit",
    "gompertz_fit",
    "spline_k2",
    "cure_weibull",
    "guyot",
)


def ours_v2(data: pd.DataFrame) -> dict[str, Callable[[], Any]]:
    from blinasim import stats
    from blinasim.stats import cure, guyot, nph, parametric, spline

    t = data["time"].to_numpy()
    e = data["event"].to_numpy()
    g = data["group"].to_numpy()
    a3 = data["arm3"].to_numpy()
    dummies = pd.DataFrame({"arm1": (a3 == 1).astype(float), "arm2": (a3 == 2).astype(float)})
    km = stats.kaplan_meier(t, e)
    pt = np.linspace(0.0, float(t.max()), 1000)
    ps = km.at(pt).survival
    rt = np.arange(0.0, float(t.max()), 180.0)
    nr = km.at(rt).n_risk
    return {
        "logrank_3arm": lambda: stats.logrank_test(t, e, a3),
        "cox_3arm": lambda: stats.cox_ph(t, e, dummies),
        "wlr_fh05_0": lambda: nph.weighted_logrank(t, e, g, weight=nph.FH(0.5, 0.0)),
        "wlr_fh0_05": lambda: nph.weighted_logrank(t, e, g, weight=nph.FH(0.0, 0.5)),
        "maxcombo": lambda: nph.maxcombo(t, e, g),
        "rmst_diff": lambda: nph.rmst_test(t, e, g, 1500.0),
        "milestone": lambda: nph.milestone_test(t, e, g, 1095.75),
        "weibull_fit": lambda: parametric.fit_parametric(t, e, "weibull"),
        "lognormal_fit": lambda: parametric.fit_parametric(t, e, "lognormal"),
        "gompertz_fit": lambda: parametric.fit_parametric(t, e, "gompertz"),
        "spline_k2": lambda: spline.fit_spline(t, e, k=2),
        "cure_weibull": lambda: cure.fit_cure(t, e, "weibull"),
        "guyot": lambda: guyot.reconstruct_ipd(pt, ps, rt, nr),
    }


def fh_batched_seconds(reps: int) -> float:
    """Warm time of the four MaxCombo FH tests on ``reps`` trials x 1,440 patients, 3 strata."""
    from blinasim.stats.nph import weighted_logrank_batched

    rng = np.random.default_rng(1)
    g = rng.integers(0, 2, (reps, 1440)).astype(np.int8)
    s = rng.integers(0, 3, (reps, 1440)).astype(np.int8)
    et = np.ceil(rng.exponential(900 * np.exp(0.3 * g - 0.2 * s)))
    ct = np.ceil(rng.uniform(1, 2400, (reps, 1440)))
    tm, ev = np.minimum(et, ct), (et <= ct).astype(np.int8)
    weighted_logrank_batched(tm[:10], ev[:10], g[:10], s[:10])  # compile or load the cache
    return best_of(lambda: weighted_logrank_batched(tm, ev, g, s), 3)


def v2_table(sizes: list[int], tmp: Path) -> pd.DataFrame:
    """The statistics v2 rows: blinasim and its R peer side by side."""
    warm = make_data(500)
    for fn in ours_v2(warm).values():
        fn()
    rows = []
    for n in sizes:
        data = make_data(n)
        reps = 3 if n <= 100_000 else 2
        our_t = {k: best_of(f, reps) for k, f in ours_v2(data).items()}
        r_t = time_r(R_SCRIPT_V2, data, reps, tmp)
        for k in V2_ROWS:
            b = our_t.get(k)
            rows.append(
                {
                    "stat": k,
                    "n": f"{n:,}",
                    "blinasim_s": fmt(b),
                    "R_s": fmt(r_t.get(k)),
                    "R/blinasim": ratio(r_t.get(k), b),
                }
            )
    return pd.DataFrame(rows)


def ours(data: pd.DataFrame) -> dict[str, Callable[[], Any]]:
    from blinasim import stats

    t = data["time"].to_numpy()
    tc = data["time_c"].to_numpy()
    e = data["event"].to_numpy()
    g = data["group"].to_numpy()
    s = data["strata"].to_numpy()
    x = data["x"].to_numpy()
    fns: dict[str, Callable[[], Any]] = {
        "km": lambda: stats.kaplan_meier(t, e),
        "km_cont": lambda: stats.kaplan_meier(tc, e),
        "logrank_s3": lambda: stats.logrank_test(t, e, g, strata=s),
        "logrank": lambda: stats.logrank_test(t, e, g),
    }
    cox = getattr(stats, "cox_ph", None)
    if cox is not None:
        fns["cox_efron"] = lambda: cox(t, e, x, ties="efron")
    return fns


def lifelines_fns(data: pd.DataFrame) -> dict[str, Callable[[], Any]]:
    try:
        import lifelines
        from lifelines.statistics import logrank_test
    except ImportError:
        return {}
    t = data["time"].to_numpy()
    tc = data["time_c"].to_numpy()
    e = data["event"].to_numpy()
    g = data["group"].to_numpy()
    a, b = g == 0, g == 1
    frame = data[["time", "event", "x"]]

    def cox() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return lifelines.CoxPHFitter().fit(frame, "time", "event")

    return {
        "km": lambda: lifelines.KaplanMeierFitter().fit(t, e),
        "km_cont": lambda: lifelines.KaplanMeierFitter().fit(tc, e),
        "logrank": lambda: logrank_test(t[a], t[b], e[a], e[b]),
        "cox_efron": cox,
    }


COLD_SNIPPET = """
import time, numpy as np
t0 = time.perf_counter()
from blinasim.stats import logrank_test_batched
imp = time.perf_counter() - t0
rng = np.random.default_rng(1)
R, N = {reps}, 1440
g = rng.integers(0, 2, (R, N)).astype(np.int8)
s = rng.integers(0, 3, (R, N)).astype(np.int8)
et = np.ceil(rng.exponential(900 * np.exp(0.3 * g - 0.2 * s)))
ct = np.ceil(rng.uniform(1, 2400, (R, N)))
tm = np.minimum(et, ct); ev = (et <= ct).astype(np.int8)
t0 = time.perf_counter(); logrank_test_batched(tm, ev, g, s); first = time.perf_counter() - t0
warm = cpu = float("inf")
for _ in range(3):
    c0 = time.process_time(); t0 = time.perf_counter(); logrank_test_batched(tm, ev, g, s)
    warm = min(warm, time.perf_counter() - t0); cpu = min(cpu, time.process_time() - c0)
import numba
numba.set_num_threads(1)
t0 = time.perf_counter(); logrank_test_batched(tm, ev, g, s); one = time.perf_counter() - t0
print(f"{{imp:.4f}} {{first:.4f}} {{warm:.4f}} {{one:.4f}} {{cpu:.4f}}")
"""


def batched(reps: int, cold_cache: bool) -> tuple[float, float, float, float, float]:
    """(import, first call, warm, warm on one thread, warm CPU) seconds, batched log-rank.

    Run in a fresh subprocess, optionally with an empty numba cache.
    """
    env = dict(os.environ)
    tmpdir = None
    if cold_cache:
        tmpdir = tempfile.mkdtemp(prefix="blinasim_numba_")
        env["NUMBA_CACHE_DIR"] = tmpdir
    try:
        res = subprocess.run(
            [sys.executable, "-c", COLD_SNIPPET.format(reps=reps)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    imp, first, warm, one, cpu = (float(v) for v in res.stdout.split())
    return imp, first, warm, one, cpu


def fmt(v: float | None) -> str:
    if v is None or not np.isfinite(v):
        return "-"
    return f"{v:.4f}" if v < 10 else f"{v:.1f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or not np.isfinite(a) or not np.isfinite(b) or b <= 0:
        return "-"
    return f"{a / b:.1f}x"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small run (n = 1e4, 1,000 replicates)")
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-compile measurement")
    ap.add_argument("--v2-only", action="store_true", help="only the statistics v2 rows")
    args, unknown = ap.parse_known_args(argv)  # run_all.py passes its own arguments
    if unknown and argv is not None:
        ap.error(f"unrecognized arguments: {' '.join(unknown)}")
    sizes = [10_000] if args.quick else [10_000, 100_000, 1_000_000]
    reps_batched = 1_000 if args.quick else 10_000
    with tempfile.TemporaryDirectory(prefix="blinasim_bench_v2_") as tmp_v2:
        v2 = v2_table([10_000] if args.quick else [100_000, 1_000_000], Path(tmp_v2))
    fh_reps = 1_000 if args.quick else 10_000
    fh_s = fh_batched_seconds(fh_reps)
    fh_line = (
        f"batched FH(0,0), FH(0,0.5), FH(0.5,0), FH(0.5,0.5) with their correlation, "
        f"{fh_reps:,} trials x 1,440 patients, 3 strata: {fh_s:.3f} s (warm)"
    )
    if args.v2_only:
        print(v2.to_string(index=False))
        print(fh_line)
        return 0

    from blinasim import stats

    if getattr(stats, "cox_ph", None) is None:
        print("blinasim.stats.cox_ph is missing: the Cox row has no blinasim time")
    t0 = time.perf_counter()
    warm = make_data(500)
    for fn in ours(warm).values():
        fn()
    print(f"warm-up (numba compile or cache load): {time.perf_counter() - t0:.2f} s")
    if shutil.which("Rscript") is None:
        print("Rscript not found: R columns are empty")

    rows = []
    last_ll: dict[str, tuple[int, float]] = {}
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="blinasim_bench_") as tmp:
        for n in sizes:
            data = make_data(n)
            reps = 3 if n <= 100_000 else 2
            our_t = {k: best_of(f, reps) for k, f in ours(data).items()}
            r_t = time_r(R_SCRIPT, data, reps, Path(tmp))
            ll_t: dict[str, float] = {}
            for k, f in lifelines_fns(data).items():
                if k in last_ll:
                    prev_n, prev_t = last_ll[k]
                    if prev_t * n / prev_n > LIFELINES_LIMIT_S:
                        skipped.append(f"{k} at n={n:,} (predicted {prev_t * n / prev_n:.0f} s)")
                        continue
                ll_t[k] = best_of(f, 1 if n >= 1_000_000 else reps)
                last_ll[k] = (n, ll_t[k])
            for k in ("km", "km_cont", "logrank_s3", "logrank", "cox_efron"):
                b = our_t.get(k)
                rows.append(
                    {
                        "stat": k,
                        "n": f"{n:,}",
                        "blinasim_s": fmt(b),
                        "R_s": fmt(r_t.get(k)),
                        "lifelines_s": fmt(ll_t.get(k)),
                        "R/blinasim": ratio(r_t.get(k), b),
                        "lifelines/blinasim": ratio(ll_t.get(k), b),
                    }
                )
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    print("\nstatistics v2 (issue 17):")
    print(v2.to_string(index=False))
    print(fh_line)
    for s in skipped:
        print(f"lifelines skipped: {s} > {LIFELINES_LIMIT_S:.0f} s")
    print("lifelines has no stratified log-rank test (logrank_s3 row)")

    if not args.no_cold:
        imp, first, warm_t, one, cpu = batched(reps_batched, cold_cache=True)
        print(
            f"batched stratified log-rank {reps_batched:,} x 1,440, empty numba cache: "
            f"import {imp:.2f} s, first call (compile + run) {first:.2f} s, warm {warm_t:.3f} s"
        )
    imp, first, warm_t, one, cpu = batched(reps_batched, cold_cache=False)
    print(
        f"batched stratified log-rank {reps_batched:,} x 1,440, numba cache in place: "
        f"import {imp:.2f} s, first call {first:.2f} s, warm {warm_t:.3f} s "
        f"({os.cpu_count()} CPUs visible; CPU time {cpu:.3f} s), warm on 1 thread {one:.3f} s"
    )
    try:
        load = os.getloadavg()[0]
        print(f"1-minute load average during the run: {load:.2f} (other processes share the CPUs)")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    # no sys.exit: benchmarks/run_all.py runs this file with runpy and goes on afterwards
    main(sys.argv[1:] if Path(sys.argv[0]).resolve() == Path(__file__).resolve() else None)

#!/usr/bin/env Rscript
# Inputs and true answers for the test of blinasim.stats.guyot (Guyot et al. 2012,
# reconstruction of individual data from a published Kaplan-Meier curve).
#
# No R peer of the reconstruction is installable here (IPDfromKM and reconstructKM are not
# in Debian), so the golden values are the *truth*: a real trial (survival::colon, deaths,
# arms Obs and Lev+5FU) whose Kaplan-Meier curves R draws (survfit). What a reader of the
# published figure would have is written out: points read off each curve (the step function
# sampled every 30 days and at both ends of every drop, survival rounded to 3 decimals as a
# digitiser gives it), the numbers at risk every 365 days (summary.survfit n.risk) and the
# total number of events. The test reconstructs each arm from those and compares with R's
# Kaplan-Meier and Cox hazard ratio (coxph, Efron) on the true data.
#
# Run from the repository root:  Rscript scripts/golden/guyot.R
# Writes tests/golden/guyot.json.
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
if (!dir.exists("tests/golden")) stop("run from the repository root")
out_file <- "tests/golden/guyot.json"

d <- subset(colon, etype == 2 & rx %in% c("Obs", "Lev+5FU"))
d$arm <- as.character(d$rx)
grid <- seq(0, max(d$time), by = 30)
risk_times <- seq(0, max(d$time), by = 365)
check_times <- seq(0, 3000, by = 100)

arm_block <- function(a) {
  s <- d[d$arm == a, ]
  fit <- survfit(Surv(time, status) ~ 1, data = s)
  drops <- fit$time[fit$n.event > 0]
  before <- summary(fit, times = drops - 1e-9, extend = TRUE)$surv  # top of each drop
  at_grid <- summary(fit, times = grid, extend = TRUE)$surv
  at_drop <- summary(fit, times = drops, extend = TRUE)$surv
  pts <- data.frame(time = c(grid, drops, drops), survival = c(at_grid, before, at_drop))
  pts <- pts[order(pts$time, -pts$survival), ]
  pts <- pts[pts$time <= max(s$time), ]
  risk <- summary(fit, times = risk_times[risk_times <= max(s$time)], extend = TRUE)
  list(
    arm = a,
    points = list(time = pts$time, survival = round(pts$survival, 3)),
    at_risk = list(time = risk$time, n_risk = risk$n.risk),
    total_events = sum(s$status),
    n = nrow(s),
    true_km = list(time = check_times,
                   surv = summary(fit, times = check_times, extend = TRUE)$surv)
  )
}

cx <- coxph(Surv(time, status) ~ I(arm == "Lev+5FU"), data = d)
golden <- list(
  meta = list(generated_by = "scripts/golden/guyot.R", r_version = R.version.string,
              survival_version = as.character(packageVersion("survival")),
              source = "survival::colon, etype == 2, rx Obs and Lev+5FU"),
  arms = list(arm_block("Obs"), arm_block("Lev+5FU")),
  true_hr = unname(exp(coef(cx))),
  true_hr_se_log = unname(sqrt(diag(vcov(cx))))
)
writeLines(toJSON(golden, auto_unbox = TRUE, digits = NA), out_file)
cat("wrote", out_file, "\n")

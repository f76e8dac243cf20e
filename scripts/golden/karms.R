#!/usr/bin/env Rscript
# Golden reference values for the analysis of more than two arms (blinasim analyze, issue 17):
# Kaplan-Meier per arm, the k-sample (stratified) log-rank test, a Cox model with the control
# arm as reference (a factor) and each arm's hazard ratio, pairwise (stratified) log-rank
# tests of each arm against the control adjusted for multiplicity by Holm's method
# (p.adjust(method = "holm"), as survminer::pairwise_survdiff does), and RMST per arm with
# the difference against the control (survival's rmean and se(rmean); the difference with a
# normal CI as survRM2::rmst2, written out because survRM2 is not in Debian).
#
# Run from the repository root:  Rscript scripts/golden/karms.R
# Writes tests/golden/karms.json; every case carries its inputs, so the tests need no R.
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

if (!dir.exists("tests/golden")) stop("run from the repository root")
out_file <- "tests/golden/karms.json"
vec <- function(x) as.numeric(x)

karm_case <- function(name, source, time, event, arm, control, strata, milestone, tau) {
  others <- sort(setdiff(unique(arm), control))
  levels <- c(control, others)
  f <- factor(arm, levels = levels)
  stratified <- !is.null(strata)
  km <- lapply(levels, function(a) {
    sel <- arm == a
    fit <- survfit(Surv(time[sel], event[sel]) ~ 1, conf.type = "log-log")
    s <- summary(fit, times = milestone, extend = TRUE)
    list(arm = a, n = sum(sel), events = sum(event[sel]), surv = vec(s$surv),
         std_err = vec(s$std.err), lower = vec(s$lower), upper = vec(s$upper),
         median = vec(quantile(fit, 0.5)$quantile))
  })
  lr <- if (stratified) survdiff(Surv(time, event) ~ f + strata(strata))
        else survdiff(Surv(time, event) ~ f)
  cx <- if (stratified) coxph(Surv(time, event) ~ f + strata(strata), ties = "efron")
        else coxph(Surv(time, event) ~ f, ties = "efron")
  sc <- summary(cx)
  pair <- lapply(others, function(a) {
    sel <- arm %in% c(control, a)
    g <- factor(arm[sel], levels = c(control, a))
    fit <- if (stratified) survdiff(Surv(time[sel], event[sel]) ~ g + strata(strata[sel]))
           else survdiff(Surv(time[sel], event[sel]) ~ g)
    c(fit$chisq, pchisq(fit$chisq, 1, lower.tail = FALSE))
  })
  pair_p <- sapply(pair, `[`, 2)
  last <- min(tapply(time, f, max))
  tau_used <- min(tau, last)
  rfit <- survfit(Surv(time, event) ~ f)
  rtab <- summary(rfit, rmean = tau_used)$table
  rm <- vec(rtab[, "rmean"])
  rse <- vec(rtab[, "se(rmean)"])
  z <- qnorm(0.975)
  dif <- rm[-1] - rm[1]
  dse <- sqrt(rse[-1]^2 + rse[1]^2)
  list(
    name = name, source = source, control = control, milestone = milestone, tau = tau,
    input = list(time = vec(time), event = vec(event), arm = arm,
                 strata = if (stratified) as.character(strata) else NULL),
    expected = list(
      arms = I(levels), km = km,
      logrank = list(chisq = lr$chisq, df = length(levels) - 1,
                     p = pchisq(lr$chisq, length(levels) - 1, lower.tail = FALSE)),
      cox = list(arm = I(others), coef = I(vec(coef(cx))), se = I(vec(sqrt(diag(vcov(cx))))),
                 hr = I(vec(sc$conf.int[, 1])), lower = I(vec(sc$conf.int[, 3])),
                 upper = I(vec(sc$conf.int[, 4])), p = I(vec(sc$coefficients[, 5]))),
      pairwise = list(arm = I(others), chisq = I(sapply(pair, `[`, 1)), p = I(pair_p),
                      p_holm = I(p.adjust(pair_p, method = "holm"))),
      rmst = list(tau = tau_used, rmst = I(rm), se = I(rse), difference = I(dif),
                  difference_se = I(dse), difference_lower = I(dif - z * dse),
                  difference_upper = I(dif + z * dse))
    )
  )
}

cases <- list()

# survival::colon, deaths (etype 2): Obs (control), Lev, Lev+5FU; strata = extent of spread
d <- subset(colon, etype == 2)
cases[[1]] <- karm_case("colon_deaths_stratified", "survival::colon, etype == 2, strata extent",
                        d$time, d$status, as.character(d$rx), "Obs", d$extent, 1826.25, 1826.25)
cases[[2]] <- karm_case("colon_deaths", "survival::colon, etype == 2, no strata",
                        d$time, d$status, as.character(d$rx), "Obs", NULL, 730.5, 1095.75)

# four arms, integer days (many ties), two strata; hazard falling with dose
set.seed(17)
n <- 480
arm <- sample(c("placebo", "low", "mid", "high"), n, replace = TRUE)
st <- sample(c("A", "B"), n, replace = TRUE)
rate <- c(placebo = 1 / 600, low = 1 / 750, mid = 1 / 900, high = 1 / 1300)[arm] *
  ifelse(st == "B", 1.5, 1)
et <- ceiling(rexp(n, rate))
ct <- ceiling(runif(n, 30, 1500))
tt <- pmin(et, ct)
ev <- as.integer(et <= ct)
cases[[3]] <- karm_case("four_arms_ties_stratified", "synthetic, set.seed(17)",
                        tt, ev, arm, "placebo", st, 365.25, 1095.75)
cases[[4]] <- karm_case("four_arms_ties", "synthetic, set.seed(17), no strata",
                        tt, ev, arm, "placebo", NULL, 365.25, 5000)

meta <- list(generated_by = "scripts/golden/karms.R", r_version = R.version.string,
             survival_version = as.character(packageVersion("survival")))
writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA,
                  null = "null"), out_file)
cat("wrote", out_file, "\n")

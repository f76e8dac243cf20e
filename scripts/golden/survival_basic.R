# Golden reference values for blinasim.stats (Kaplan-Meier, Nelson-Aalen, log-rank, RMST).
#
# Run from the repository root:  Rscript scripts/golden/survival_basic.R   (or `make golden`)
# Writes tests/golden/survival_basic.json (inputs included, so the tests need no R) and the
# bundled example data set src/blinasim/data/examples/veteran.csv.
#
# R's own data sets (survival package): lung, veteran, ovarian, colon (deaths), pbc; plus
# synthetic data with heavy ties, several strata and events at time 0. Synthetic times are
# integers or rounded to 2 decimals so that survfit's aeqSurv() tie fix changes nothing.
#
# The RMST contrasts use the formulas of survRM2::rmst2 (difference with a normal CI, ratio
# with a CI on the log scale), written out below because survRM2 is not in Debian; the
# per-group RMST and its SE are survival's own (summary(fit, rmean = tau)$table).

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

if (!dir.exists("tests/golden")) stop("run from the repository root")
out_file <- "tests/golden/survival_basic.json"

vec <- function(x) as.numeric(x)

km_block <- function(time, event, conf_type) {
  f <- survfit(Surv(time, event) ~ 1, conf.type = conf_type)
  q <- quantile(f, 0.5)
  tab <- summary(f)$table
  at_times <- sort(unique(c(0, min(time) / 2, quantile(time, c(0.1, 0.33, 0.5, 0.9)),
                            max(time), max(time) * 1.5)))
  s <- summary(f, times = at_times, extend = TRUE)
  list(
    conf_type = conf_type,
    time = vec(f$time), n_risk = vec(f$n.risk), n_event = vec(f$n.event),
    n_censor = vec(f$n.censor), surv = vec(f$surv), std_err_log = vec(f$std.err),
    lower = vec(f$lower), upper = vec(f$upper),
    median = vec(q$quantile), median_lower = vec(q$lower), median_upper = vec(q$upper),
    print_median = vec(tab["median"]),
    print_median_lower = vec(tab[grep("LCL", names(tab))]),
    print_median_upper = vec(tab[grep("UCL", names(tab))]),
    at = list(time = vec(at_times), n_risk = vec(s$n.risk), surv = vec(s$surv),
              std_err = vec(s$std.err), lower = vec(s$lower), upper = vec(s$upper))
  )
}

na_block <- function(time, event) {
  f <- survfit(Surv(time, event) ~ 1)
  list(time = vec(f$time), cumhaz = vec(f$cumhaz), std_chaz = vec(f$std.chaz))
}

logrank_block <- function(time, event, group, strata, rho) {
  fit <- if (is.null(strata)) {
    survdiff(Surv(time, event) ~ group, rho = rho)
  } else {
    survdiff(Surv(time, event) ~ group + strata(strata), rho = rho)
  }
  obs <- fit$obs
  ex <- fit$exp
  if (is.matrix(obs)) {
    obs <- rowSums(obs)
    ex <- rowSums(ex)
  }
  list(rho = rho, stratified = !is.null(strata), observed = vec(obs), expected = vec(ex),
       var = unname(fit$var), chisq = fit$chisq, df = sum(ex > 0) - 1, p = fit$pvalue)
}

rmst_block <- function(time, event, group, tau) {
  g <- factor(group)
  f <- survfit(Surv(time, event) ~ g)
  tab <- summary(f, rmean = tau)$table
  est <- vec(tab[, "rmean"])
  se <- vec(tab[, "se(rmean)"])
  f1 <- survfit(Surv(time, event) ~ 1)
  t1 <- summary(f1, rmean = tau)$table
  res <- list(tau = tau, rmst = est, se = se,
              overall_rmst = vec(t1["rmean"]), overall_se = vec(t1["se(rmean)"]))
  if (length(est) == 2) {
    z <- qnorm(0.975)
    d <- est[2] - est[1]
    dse <- sqrt(se[1]^2 + se[2]^2)
    lr <- log(est[2] / est[1])
    lrse <- sqrt(se[2]^2 / est[2]^2 + se[1]^2 / est[1]^2)
    res$diff <- c(d, dse, d - z * dse, d + z * dse, 2 * pnorm(-abs(d) / dse))
    res$ratio <- c(exp(lr), lrse, exp(lr - z * lrse), exp(lr + z * lrse),
                   2 * pnorm(-abs(lr) / lrse))
  }
  res
}

make_case <- function(name, time, event, group, strata, tau, source) {
  gcode <- as.integer(factor(group)) - 1L
  scode <- if (is.null(strata)) NULL else as.integer(factor(strata)) - 1L
  lr <- list(logrank_block(time, event, gcode, NULL, 0),
             logrank_block(time, event, gcode, NULL, 1))
  if (!is.null(scode)) {
    lr <- c(lr, list(logrank_block(time, event, gcode, scode, 0),
                     logrank_block(time, event, gcode, scode, 0.5)))
  }
  list(
    name = name, source = source,
    data = list(time = vec(time), event = as.integer(event), group = gcode,
                strata = if (is.null(scode)) NULL else scode),
    km = lapply(c("plain", "log", "log-log"), function(ct) km_block(time, event, ct)),
    km_group0 = km_block(time[gcode == 0], event[gcode == 0], "log-log"),
    nelson_aalen = na_block(time, event),
    logrank = lr,
    rmst = rmst_block(time, event, gcode, tau)
  )
}

cases <- list()

d <- lung
cases[[length(cases) + 1]] <- make_case(
  "lung", d$time, d$status == 2, d$sex, ifelse(is.na(d$ph.ecog), 1, pmin(d$ph.ecog, 2)),
  365, "survival::lung; group = sex, strata = ph.ecog (0, 1, 2-3; NA -> 1)")

d <- veteran
cases[[length(cases) + 1]] <- make_case(
  "veteran", d$time, d$status, d$trt, d$celltype, 180,
  "survival::veteran; group = trt, strata = celltype")

d <- ovarian
cases[[length(cases) + 1]] <- make_case(
  "ovarian", d$futime, d$fustat, d$rx, d$resid.ds, 700,
  "survival::ovarian; group = rx, strata = resid.ds")

d <- colon[colon$etype == 2, ]
cases[[length(cases) + 1]] <- make_case(
  "colon_death", d$time, d$status, d$rx, d$node4, 1825,
  "survival::colon (etype == 2, deaths); group = rx (3 levels), strata = node4")

d <- pbc[!is.na(pbc$trt), ]
cases[[length(cases) + 1]] <- make_case(
  "pbc", d$time, d$status == 2, d$trt, d$edema, 2000,
  "survival::pbc (randomized trt only); event = death; group = trt, strata = edema")

set.seed(20251124)
n <- 300
cases[[length(cases) + 1]] <- make_case(
  "ties_strata_time0",
  c(rep(0, 6), sample(0:12, n - 6, replace = TRUE)),
  c(1, 1, 0, 1, 1, 0, rbinom(n - 6, 1, 0.6)),
  sample(c("A", "B"), n, replace = TRUE),
  sample(1:3, n, replace = TRUE), 8,
  "synthetic: integer times 0..12 (heavy ties), 6 rows at time 0, 2 groups, 3 strata")

n <- 120
tt <- round(rexp(n, 0.1), 2)
cc <- round(runif(n, 0, 20), 2)
cases[[length(cases) + 1]] <- make_case(
  "three_groups_last_event",
  c(pmin(tt, cc), 25), c(as.integer(tt <= cc), 1L),
  c(sample(1:3, n, replace = TRUE), 2), c(sample(1:2, n, replace = TRUE), 1), 15,
  "synthetic: exponential times rounded to 0.01, 3 groups, 2 strata, the last time an event")

n <- 80
cases[[length(cases) + 1]] <- make_case(
  "flat_half",
  c(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), c(1, 1, 1, 1, 1, 0, 0, 0, 0, 0),
  c(0, 1, 0, 1, 0, 1, 0, 1, 0, 1), NULL, 9,
  "synthetic: survival exactly 0.5 over a flat stretch (median midpoint rule)")

meta <- list(generated_by = "scripts/golden/survival_basic.R",
             r_version = R.version.string,
             survival_version = as.character(packageVersion("survival")))
writeLines(toJSON(list(meta = meta, cases = cases), digits = NA, auto_unbox = TRUE,
                  na = "string", null = "null"), out_file)
cat("wrote", out_file, "\n")

ex_dir <- "src/blinasim/data/examples"
dir.create(ex_dir, showWarnings = FALSE, recursive = TRUE)
write.csv(veteran, file.path(ex_dir, "veteran.csv"), row.names = FALSE)
cat("wrote", file.path(ex_dir, "veteran.csv"), "\n")

#!/usr/bin/env Rscript
# Golden values for blinasim.stats.nph: weighted log-rank tests (Fleming-Harrington,
# Magirr-Burman, early zero), MaxCombo, RMST difference and milestone tests.
#
# R simtrial (Merck) is not installable here (not in Debian, no CRAN access). Peers used:
#  * survival::survdiff(rho = ) for FH(rho, 0): its chi-square equals z^2 ("survdiff" block);
#  * a base-R transcription, written here, of simtrial's formulas as read at
#    github.com/Merck/simtrial: R/counting_process.R (commit 0f06d961), R/fh_weight.R
#    (99493361), R/mb_weight.R (e1b35d17), R/early_zero_weight.R (the early_period version,
#    unstratified rule), R/wlr.R (e2910158), R/maxcombo.R (e4dc1af7),
#    R/pvalue_maxcombo.R (38cec00b), R/rmst.R (031a4220), R/milestone.R (62399f1f);
#  * mvtnorm::pmvnorm for the MaxCombo p-value, with simtrial's GenzBretz(maxpts = 50000,
#    abseps = 1e-5) (a Monte Carlo value, set.seed(1)) and with the deterministic Miwa
#    algorithm (accurate to ~1e-10), against which blinasim is compared.
#
# Run from the repository root:  Rscript scripts/golden/nph.R
# Writes tests/golden/nph.json; every case carries its inputs, so the tests need no R.
suppressPackageStartupMessages({
  library(survival)
  library(mvtnorm)
  library(jsonlite)
})
if (!dir.exists("tests/golden")) stop("run from the repository root")
out_file <- "tests/golden/nph.json"

# simtrial's counting_process: informative event times per stratum (group 1 experimental)
cp <- function(tte, event, group, stratum) {
  out <- NULL
  for (st in sort(unique(stratum))) {
    m <- stratum == st
    tt <- sort(unique(tte[m]))
    n <- sapply(tt, function(u) sum(tte[m] >= u))
    n1 <- sapply(tt, function(u) sum(tte[m] >= u & group[m] == 1))
    d <- sapply(tt, function(u) sum(tte[m] == u & event[m] == 1))
    d1 <- sapply(tt, function(u) sum(tte[m] == u & event[m] == 1 & group[m] == 1))
    keep <- d > 0 & n - n1 > 0 & n1 > 0
    tt <- tt[keep]; n <- n[keep]; n1 <- n1[keep]; d <- d[keep]; d1 <- d1[keep]
    s <- c(1, cumprod(1 - d / n)[-length(d)])
    out <- rbind(out, data.frame(stratum = st, tte = tt, s = s, o_minus_e = d1 - n1 / n * d,
                                 var_o_minus_e = (n - n1) * n1 * d * (n - d) / n^2 / (n - 1)))
  }
  out
}
fh_w <- function(x, rho, gamma) x$s^rho * (1 - x$s)^gamma
mb_w <- function(x, delay, w_max) {
  w <- numeric(nrow(x))
  for (st in unique(x$stratum)) {
    m <- x$stratum == st
    early <- m & x$tte <= delay
    top <- if (any(early)) max(1 / x$s[early]) else 1
    w[m] <- pmin(min(w_max, top), 1 / x$s[m])
  }
  w
}
ez_w <- function(x, early_period) ifelse(x$tte < early_period, 0, 1)
wlr_block <- function(x, w, label) {
  est <- sum(x$o_minus_e * w)
  se <- sqrt(sum(x$var_o_minus_e * w^2))
  list(weight = label, estimate = est, se = se, z = -est / se)
}
rmst_arm <- function(time, event, tau) {
  fit <- survfit(Surv(time, event) ~ 1)
  df <- data.frame(time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event, surv = fit$surv)
  df1 <- df[df$time <= tau, ]
  df2 <- rbind(df1, c(0, NA, NA, 1))
  if (nrow(df1) == 0 || max(df1$time) != tau) df2 <- rbind(df2, c(tau, NA, NA, NA))
  df2 <- df2[order(df2$time), ]
  dt <- c(diff(df2$time), NA)
  area <- dt * df2$surv
  big_a <- rev(c(0, cumsum(rev(area)[-1])))
  dev <- df2$n_event / (df2$n_risk * (df2$n_risk - df2$n_event)) * big_a^2
  ne <- sum(df2$n_event, na.rm = TRUE)
  c(rmst = sum(area, na.rm = TRUE), var = sum(dev, na.rm = TRUE) * ne / (ne - 1))
}

nph_case <- function(name, source, tte, event, group, stratum, mb, ez, tau, ms_time) {
  x <- cp(tte, event, group, stratum)
  stratified <- length(unique(stratum)) > 1
  tests <- list(
    wlr_block(x, fh_w(x, 0, 0), "FH(0,0)"),
    wlr_block(x, fh_w(x, 0, 0.5), "FH(0,0.5)"),
    wlr_block(x, fh_w(x, 0.5, 0), "FH(0.5,0)"),
    wlr_block(x, fh_w(x, 1, 0), "FH(1,0)"),
    wlr_block(x, fh_w(x, 0.5, 0.5), "FH(0.5,0.5)"),
    wlr_block(x, fh_w(x, 0, 1), "FH(0,1)"),
    wlr_block(x, mb_w(x, mb[1], mb[2]), "MB"),
    wlr_block(x, mb_w(x, Inf, 2), "MB(Inf,2)")
  )
  if (!stratified) tests[[length(tests) + 1]] <- wlr_block(x, ez_w(x, ez), "EZ")
  sd_rho <- lapply(c(0, 0.5, 1), function(r) {
    f <- if (stratified) survdiff(Surv(tte, event) ~ group + strata(stratum), rho = r)
         else survdiff(Surv(tte, event) ~ group, rho = r)
    list(rho = r, chisq = f$chisq)
  })
  rg <- list(c(0, 0), c(0, 0.5), c(0.5, 0), c(0.5, 0.5))
  wm <- sapply(rg, function(p) fh_w(x, p[1], p[2]))
  cov <- t(wm) %*% (wm * x$var_o_minus_e)
  z <- as.numeric(t(wm) %*% x$o_minus_e) / sqrt(diag(cov))
  corr <- cov2cor(cov)
  zmin <- min(z)
  set.seed(1)
  p_gb <- 1 - pmvnorm(lower = rep(zmin, 4), corr = corr,
                      algorithm = GenzBretz(maxpts = 50000, abseps = 0.00001))[1]
  p_miwa <- 1 - pmvnorm(lower = rep(zmin, 4), corr = corr, algorithm = Miwa(steps = 4097))[1]
  r0 <- rmst_arm(tte[group == 0], event[group == 0], tau)
  r1 <- rmst_arm(tte[group == 1], event[group == 1], tau)
  fit <- survfit(Surv(tte, event) ~ group)
  ms <- summary(fit, times = ms_time, extend = TRUE)
  list(
    name = name, source = source, mb = mb, early_period = ez, tau = tau, ms_time = ms_time,
    input = list(time = tte, event = event, group = group,
                 strata = if (stratified) stratum else NULL),
    expected = list(
      n_rows = nrow(x), wlr = tests, survdiff = sd_rho,
      maxcombo = list(z = z, corr = unname(corr), z_min = zmin, p_genz_bretz = p_gb,
                      p_miwa = p_miwa),
      rmst = list(control = r0[["rmst"]], experimental = r1[["rmst"]],
                  estimate = r1[["rmst"]] - r0[["rmst"]],
                  se = sqrt(r0[["var"]] + r1[["var"]])),
      milestone = list(control = ms$surv[1], experimental = ms$surv[2],
                       estimate = ms$surv[2] - ms$surv[1],
                       se = sqrt(ms$std.err[1]^2 + ms$std.err[2]^2))
    )
  )
}

cases <- list()
# delayed effect: same hazard for 6 months, then HR 0.5; two strata; times to 2 decimals
set.seed(2024)
n <- 400
group <- rep(0:1, each = n / 2)
stratum <- sample(c("A", "B"), n, replace = TRUE)
lam <- log(2) / 12 * ifelse(stratum == "B", 1.4, 1)
e1 <- rexp(n, lam)
late <- group == 1 & e1 > 6
e1[late] <- 6 + (e1[late] - 6) / 0.5
cens <- runif(n, 12, 36)
tte <- round(pmin(e1, cens), 2)
ev <- as.integer(e1 <= cens)
cases[[1]] <- nph_case("delayed_effect", "synthetic, set.seed(2024)", tte, ev, group,
                       rep("all", n), c(6, Inf), 6, 18, 24)
cases[[2]] <- nph_case("delayed_effect_stratified", "synthetic, set.seed(2024), 2 strata",
                       tte, ev, group, stratum, c(6, 2.5), 6, 18, 24)
# survival::colon deaths, Obs (control) vs Lev+5FU (experimental), days; integer times, ties
d <- subset(colon, etype == 2 & rx %in% c("Obs", "Lev+5FU"))
cases[[3]] <- nph_case("colon_deaths", "survival::colon, etype == 2, Obs vs Lev+5FU",
                       d$time, d$status, as.integer(d$rx == "Lev+5FU"), rep("all", nrow(d)),
                       c(365, Inf), 180, 1826, 1826)
cases[[4]] <- nph_case("colon_deaths_by_extent", "survival::colon, strata extent",
                       d$time, d$status, as.integer(d$rx == "Lev+5FU"), as.character(d$extent),
                       c(365, 3), 180, 1826, 1826)

meta <- list(generated_by = "scripts/golden/nph.R", r_version = R.version.string,
             survival_version = as.character(packageVersion("survival")),
             mvtnorm_version = as.character(packageVersion("mvtnorm")))
writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA,
                  null = "null"), out_file)
cat("wrote", out_file, "\n")

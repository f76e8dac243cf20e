#!/usr/bin/env Rscript
# Golden reference values for blinasim.stats.finegray (R cmprsk::crr, predict.crr,
# summary.crr).
#
# Run from the repository root:  Rscript scripts/golden/finegray.R
# Writes tests/golden/finegray.json. Every case carries its inputs, so the Python tests need
# no R. crr does not report its iteration count; it is found here as the smallest maxiter
# for which crr reports convergence (crr checks convergence before each Newton step).
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
})

out_dir <- file.path("tests", "golden")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

versions <- list(
  R = R.version.string,
  survival = as.character(packageVersion("survival")),
  cmprsk = as.character(packageVersion("cmprsk"))
)

crr_case <- function(name, ftime, fstatus, cov, rows, failcode = 1, cencode = 0) {
  cov <- as.matrix(cov)
  fit <- crr(ftime, fstatus, cov, failcode = failcode, cencode = cencode)
  s <- summary(fit)
  iterations <- NA_integer_
  for (k in 0:10) {
    if (crr(ftime, fstatus, cov, failcode = failcode, cencode = cencode, maxiter = k,
            variance = FALSE)$converged) {
      iterations <- k
      break
    }
  }
  se <- sqrt(diag(fit$var))
  z <- unname(fit$coef / se)
  rows <- matrix(rows, ncol = ncol(cov))
  pr <- predict(fit, rows)
  list(
    name = name, failcode = failcode, cencode = cencode,
    input = list(time = ftime, status = fstatus, covariates = as.list(as.data.frame(cov)),
                 covariate_names = colnames(cov)),
    predict_rows = I(rows),
    expected = list(
      names = I(names(fit$coef)),
      coef = I(unname(fit$coef)),
      se = I(unname(se)),
      var = unname(fit$var),
      z = I(z),
      p = I(2 * (1 - pnorm(abs(z)))),
      hr = I(unname(s$conf.int[, 1])),
      hr_lower = I(unname(s$conf.int[, 3])),
      hr_upper = I(unname(s$conf.int[, 4])),
      loglik = fit$loglik,
      loglik_null = fit$loglik.null,
      logtest = unname(s$logtest["test"]),
      wald = unname(drop(t(fit$coef) %*% solve(fit$var) %*% fit$coef)),
      score = I(unname(fit$score)),
      inf = unname(fit$inf),
      converged = fit$converged,
      iterations = iterations,
      n = fit$n,
      uftime = I(fit$uftime),
      bfitj = I(fit$bfitj),
      predict_time = I(unname(pr[, 1])),
      predict_cif = unname(t(pr[, -1, drop = FALSE]))  # one row per covariate row
    )
  )
}

cases <- list()
add <- function(x) cases[[length(cases) + 1]] <<- x

# ?crr's own example
set.seed(10)
ftime <- rexp(200)
fstatus <- sample(0:2, 200, replace = TRUE)
cov <- matrix(runif(600), nrow = 200)
dimnames(cov)[[2]] <- c("x1", "x2", "x3")
ex_rows <- rbind(c(.1, .5, .8), c(.1, .5, .2))
add(crr_case("crr_example", ftime, fstatus, cov, ex_rows))
add(crr_case("crr_example_failcode2", ftime, fstatus, cov, ex_rows, failcode = 2))

# heavy ties: integer times (events of both causes and censorings share times), one
# continuous covariate with a large mean and one binary; non-default codes (cause of
# interest 3, censored 9, competing causes 1 and 2)
set.seed(20251201)
n <- 300
age <- round(rnorm(n, 60, 10), 1)
arm <- rbinom(n, 1, 0.5)
t1 <- rexp(n, 0.08 * exp(0.03 * (age - 60) - 0.5 * arm))
t2 <- rexp(n, 0.05 * exp(0.3 * arm))
cz <- runif(n, 0, 30)
tt <- ceiling(pmin(t1, t2, cz))
st <- ifelse(cz <= pmin(t1, t2), 9L, ifelse(t1 <= t2, 3L, sample(1:2, n, replace = TRUE)))
tie_cov <- cbind(age = age, arm = arm)
add(crr_case("ties_codes", tt, st, tie_cov, rbind(c(50, 0), c(50, 1), c(70, 1)),
             failcode = 3, cencode = 9))
stc <- ifelse(st == 9L, 0L, ifelse(st == 3L, 1L, 2L))
add(crr_case("ties_competing_cause", tt, stc, tie_cov, rbind(c(60, 0), c(60, 1)),
             failcode = 2))

# one binary covariate (the trial's own analysis: arm)
set.seed(1731)
n <- 250
arm <- rep(0:1, length.out = n)
t1 <- rexp(n, 0.1 * exp(-0.6 * arm))
t2 <- rexp(n, 0.07)
cz <- runif(n, 2, 25)
bt <- round(pmin(t1, t2, cz), 2)
bs <- ifelse(cz <= pmin(t1, t2), 0L, ifelse(t1 <= t2, 1L, 2L))
add(crr_case("binary_arm", bt, bs, cbind(arm = arm), rbind(0, 1)))

# larger: 1,500 rows, four covariates on different scales, times in days (ties)
set.seed(99)
n <- 1500
x <- cbind(age = round(rnorm(n, 45, 12)), score = rnorm(n), grp = rbinom(n, 1, 0.3),
           dose = round(runif(n, 100, 500)))
lp1 <- 0.02 * (x[, "age"] - 45) + 0.4 * x[, "score"] - 0.3 * x[, "grp"]
t1 <- rexp(n, exp(lp1) / 900)
t2 <- rexp(n, exp(0.002 * (x[, "dose"] - 300)) / 1500)
cz <- runif(n, 30, 3000)
lt <- ceiling(pmin(t1, t2, cz))
ls <- ifelse(cz <= pmin(t1, t2), 0L, ifelse(t1 <= t2, 1L, 2L))
add(crr_case("large_4cov", lt, ls, x, rbind(c(45, 0, 0, 300), c(60, 1, 1, 200))))

# follow-up times of 0 (censorings and events at 0: crr reads the censoring curve at
# t * (1 - 100 eps), so at 0 it includes the censorings at 0)
zt <- bt
zt[c(1:4, 11:13)] <- 0
add(crr_case("zero_times", zt, bs, cbind(arm = arm), rbind(0, 1)))

# every event of the cause in one arm: the arm coefficient diverges and crr stops after
# maxiter = 10 Newton steps without converging (iterations is then null)
set.seed(7)
n <- 60
arm <- rep(0:1, each = n / 2)
age <- round(rnorm(n, 50, 10))
mt <- round(rexp(n, 0.1), 1) + 0.1
ms <- ifelse(arm == 1, sample(0:2, n, replace = TRUE, prob = c(.3, .5, .2)),
             sample(c(0L, 2L), n, replace = TRUE))
add(crr_case("monotone_not_converged", mt, ms, cbind(arm = arm, age = age),
             rbind(c(0, 50), c(1, 50))))

txt <- toJSON(list(generator = "scripts/golden/finegray.R", versions = versions,
                   cases = cases),
              digits = I(17), auto_unbox = TRUE, na = "null", null = "null",
              matrix = "rowmajor", pretty = FALSE)
path <- file.path(out_dir, "finegray.json")
writeLines(txt, path)
cat("wrote", path, "\n")

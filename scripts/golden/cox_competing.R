#!/usr/bin/env Rscript
# Golden reference values for blinasim.stats.cox (R survival::coxph) and
# blinasim.stats.competing (R cmprsk::cuminc, cmprsk::timepoints).
#
# Run from the repository root:  Rscript scripts/golden/cox_competing.R
# Writes tests/golden/cox_coxph.json and tests/golden/cuminc_cmprsk.json. Every case carries
# its inputs, so the Python tests need no R.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
})

out_dir <- file.path("tests", "golden")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

write_json_file <- function(x, name) {
  path <- file.path(out_dir, name)
  txt <- toJSON(x, digits = I(17), auto_unbox = TRUE, na = "null", null = "null",
                matrix = "rowmajor", pretty = FALSE)
  writeLines(txt, path)
  cat("wrote", path, "\n")
}

versions <- list(
  R = R.version.string,
  survival = as.character(packageVersion("survival")),
  cmprsk = as.character(packageVersion("cmprsk"))
)

# ---------------------------------------------------------------------------------------------
# Cox proportional hazards
# ---------------------------------------------------------------------------------------------

cox_case <- function(name, time, event, X, strata = NULL, weights = NULL,
                     ties = "efron", robust = FALSE) {
  X <- as.data.frame(X)
  d <- cbind(data.frame(time = time, event = event), X)
  rhs <- paste(names(X), collapse = " + ")
  if (!is.null(strata)) {
    d$.strata <- strata
    rhs <- paste(rhs, "+ strata(.strata)")
  }
  f <- as.formula(paste("Surv(time, event) ~", rhs))
  warns <- character()
  keep_warning <- function(w) {
    warns <<- c(warns, conditionMessage(w))
    invokeRestart("muffleWarning")
  }
  if (is.null(weights)) {
    fit <- withCallingHandlers(coxph(f, data = d, ties = ties, robust = robust),
                               warning = keep_warning)
  } else {
    d$.w <- weights
    fit <- withCallingHandlers(coxph(f, data = d, ties = ties, robust = robust, weights = .w),
                               warning = keep_warning)
  }
  s <- summary(fit)
  cf <- s$coefficients
  naive <- if (robust) fit$naive.var else fit$var
  expected <- list(
    names = names(coef(fit)),
    coef = unname(coef(fit)),
    se = unname(sqrt(diag(naive))),
    robust_se = if (robust) unname(cf[, "robust se"]) else NULL,
    var = unname(fit$var),
    naive_var = unname(naive),
    z = unname(cf[, "z"]),
    p = unname(cf[, "Pr(>|z|)"]),
    hr = unname(s$conf.int[, "exp(coef)"]),
    hr_lower = unname(s$conf.int[, 3]),
    hr_upper = unname(s$conf.int[, 4]),
    loglik = unname(fit$loglik),
    score = unname(fit$score),
    wald = unname(fit$wald.test),
    iter = fit$iter,
    n = fit$n,
    nevent = fit$nevent,
    logtest = as.list(s$logtest),
    waldtest = as.list(s$waldtest),
    sctest = as.list(s$sctest),
    robust_score = if (robust) unname(fit$rscore) else NULL,
    warnings = I(warns)
  )
  list(
    name = name, ties = ties, robust = robust,
    input = list(
      time = time, event = as.integer(event), covariates = as.list(X),
      covariate_names = names(X),
      strata = if (is.null(strata)) NULL else as.character(strata),
      weights = weights
    ),
    expected = expected
  )
}

cases <- list()
add <- function(x) cases[[length(cases) + 1]] <<- x

# lung: complete cases on age, sex, ph.ecog
lu <- na.omit(lung[, c("time", "status", "age", "sex", "ph.ecog")])
for (ties in c("efron", "breslow")) {
  add(cox_case(paste0("lung_", ties), lu$time, as.integer(lu$status == 2),
               lu[, c("age", "sex", "ph.ecog")], ties = ties))
}
add(cox_case("lung_sex_robust", lu$time, as.integer(lu$status == 2), lu[, "sex", drop = FALSE],
             robust = TRUE))

# veteran: stratified by cell type
vt <- veteran
vt$trt2 <- as.numeric(vt$trt == 2)
for (ties in c("efron", "breslow")) {
  add(cox_case(paste0("veteran_strata_", ties), vt$time, vt$status,
               vt[, c("trt2", "karno", "age", "prior")],
               strata = as.character(vt$celltype), ties = ties))
}

# ovarian: small, robust variance
add(cox_case("ovarian_robust", ovarian$futime, ovarian$fustat,
             ovarian[, c("age", "ecog.ps", "rx")], robust = TRUE))

# colon, death records: treatment dummies + covariates, many tied days
co <- na.omit(colon[colon$etype == 2, c("time", "status", "rx", "sex", "age", "nodes")])
co$lev <- as.numeric(co$rx == "Lev")
co$lev5fu <- as.numeric(co$rx == "Lev+5FU")
add(cox_case("colon_efron", co$time, co$status, co[, c("lev", "lev5fu", "sex", "age", "nodes")]))
add(cox_case("colon_strata_sex_robust", co$time, co$status, co[, c("lev", "lev5fu", "age")],
             strata = as.character(co$sex), robust = TRUE))

# pbc, first 312 (randomised) patients, death as the event
pb <- pbc[1:312, ]
pb$logbili <- log(pb$bili)
pb$logprotime <- log(pb$protime)
add(cox_case("pbc_efron", pb$time, as.integer(pb$status == 2),
             pb[, c("age", "edema", "logbili", "albumin", "logprotime")]))

# synthetic: heavy ties (10 distinct times), three strata, non-integer weights
set.seed(20251124)
n <- 400
sx <- data.frame(trt = rbinom(n, 1, 0.5), z = round(rnorm(n), 3), u = round(runif(n), 3))
lp <- 0.7 * sx$trt - 0.4 * sx$z + 0.3 * sx$u
ttrue <- rexp(n, 0.1 * exp(lp))
cens <- runif(n, 0, 15)
st <- sample(c("a", "b", "c"), n, replace = TRUE)
tt <- pmax(1, ceiling(pmin(ttrue, cens) / 1.5))
ev <- as.integer(ttrue <= cens)
wt <- round(runif(n, 0.5, 2), 3)
for (ties in c("efron", "breslow")) {
  add(cox_case(paste0("synth_ties_", ties), tt, ev, sx, ties = ties))
  add(cox_case(paste0("synth_strata_weights_robust_", ties), tt, ev, sx, strata = st,
               weights = wt, ties = ties, robust = TRUE))
}
add(cox_case("synth_weights_naive_efron", tt, ev, sx, weights = wt, robust = FALSE))

# synthetic: one binary treatment (the trial's own analysis), step halving not needed
set.seed(1731)
n <- 300
arm <- rep(0:1, each = n / 2)
t1 <- rexp(n, 0.05 * exp(-0.6 * arm))
c1 <- runif(n, 5, 40)
add(cox_case("synth_arm_efron", round(pmin(t1, c1), 1), as.integer(t1 <= c1),
             data.frame(arm = arm)))

# synthetic: every event in one arm, so the arm coefficient is infinite (R warns)
set.seed(7)
n <- 40
arm <- rep(0:1, each = n / 2)
age <- round(rnorm(n, 50, 10))
tm <- round(rexp(n, 0.1), 1) + 0.1
ev <- ifelse(arm == 1, rbinom(n, 1, 0.7), 0L)
add(cox_case("synth_monotone_efron", tm, ev, data.frame(arm = arm, age = age)))

write_json_file(list(generator = "scripts/golden/cox_competing.R", versions = versions,
                     cases = cases), "cox_coxph.json")

# ---------------------------------------------------------------------------------------------
# Cumulative incidence (Aalen-Johansen as cmprsk::cuminc) and Gray's test
# ---------------------------------------------------------------------------------------------

ci_case <- function(name, time, cause, group = NULL, strata = NULL, rho = 0, tp) {
  args <- list(ftime = time, fstatus = cause, rho = rho)
  if (!is.null(group)) args$group <- group
  if (!is.null(strata)) args$strata <- strata
  fit <- do.call(cuminc, args)
  tests <- fit$Tests
  curves_only <- fit[names(fit) != "Tests"]
  gl <- if (is.null(group)) "1" else levels(factor(group))
  causes <- sort(unique(cause[cause != 0]))
  curves <- list()
  k <- 0
  for (cc in causes) {
    for (g in gl) {
      k <- k + 1
      z <- curves_only[[k]]
      curves[[k]] <- list(label = names(curves_only)[k], group = g, cause = cc,
                          time = z$time, est = z$est, var = z$var)
    }
  }
  tpo <- timepoints(fit, tp)
  list(
    name = name, rho = rho,
    input = list(time = time, cause = as.integer(cause),
                 group = if (is.null(group)) NULL else as.character(group),
                 strata = if (is.null(strata)) NULL else as.character(strata)),
    expected = list(
      groups = gl, causes = causes, curves = curves,
      tests = if (is.null(tests)) NULL else list(
        cause = as.integer(rownames(tests)), stat = unname(tests[, "stat"]),
        pv = unname(tests[, "pv"]), df = unname(tests[, "df"])),
      timepoints = list(times = sort(unique(tp)), est = unname(tpo$est), var = unname(tpo$var))
    )
  )
}

ccases <- list()
cadd <- function(x) ccases[[length(ccases) + 1]] <<- x

# pbc: 1 = transplant, 2 = death; randomised patients, groups = trt
pb <- pbc[1:312, ]
cadd(ci_case("pbc_trt", pb$time, pb$status, group = pb$trt,
             tp = c(0, 500, 1000, 2000, 3000, 4000, 5000)))
cadd(ci_case("pbc_trt_strata_sex", pb$time, pb$status, group = pb$trt,
             strata = as.character(pb$sex), tp = c(1000, 3000)))
cadd(ci_case("pbc_edema", pb$time, pb$status, group = pb$edema, tp = c(1000, 2500, 4500)))
cadd(ci_case("pbc_edema_rho1", pb$time, pb$status, group = pb$edema, rho = 1,
             tp = c(1000, 2500)))
cadd(ci_case("pbc_all_nogroup", pbc$time, pbc$status, tp = c(365, 1826, 3652)))

# synthetic: three causes, three groups, heavy ties, two strata
set.seed(424242)
n <- 300
g <- sample(c("A", "B", "C"), n, replace = TRUE)
s <- sample(c("s1", "s2"), n, replace = TRUE)
rate <- c(A = 1, B = 1.5, C = 0.7)[g]
tev <- rexp(n, 0.08 * rate)
cz <- sample(1:3, n, replace = TRUE, prob = c(0.5, 0.3, 0.2))
cens <- runif(n, 0, 25)
tm <- ceiling(pmin(tev, cens))
cs <- ifelse(tev <= cens, cz, 0L)
cadd(ci_case("synth_3causes_3groups", tm, cs, group = g, tp = c(2, 5, 10, 20, 30)))
cadd(ci_case("synth_3causes_3groups_strata", tm, cs, group = g, strata = s, tp = c(5, 15)))
cadd(ci_case("synth_3causes_one_stratum", tm, cs, group = g, strata = rep("only", n),
             tp = c(5, 15)))
# a stratum whose cumulative incidence reaches 1 before its last event (Gray's variance
# divides by 1 - F there: inf/nan terms in the Fortran that drop out of the statistic)
cadd(ci_case("cif_reaches_one_in_a_stratum", c(1, 0, 0, 0, 0, 0, 0, 0, 2),
             c(1L, 1L, 0L, 0L, 1L, 0L, 0L, 0L, 1L), group = strsplit("baaaaaaab", "")[[1]],
             strata = strsplit("ttsstssst", "")[[1]], tp = c(1)))

write_json_file(list(generator = "scripts/golden/cox_competing.R", versions = versions,
                     cases = ccases), "cuminc_cmprsk.json")

# Golden values for blinasim.trial from R rpact (run from the repo root: Rscript scripts/golden/rpact.R).
#
# tests/golden/rpact_designs.json   group-sequential boundaries, alpha spent, exit probabilities
# tests/golden/rpact_survival.json  analytic and simulated power of event-driven survival designs
suppressPackageStartupMessages({
  library(rpact)
  library(jsonlite)
})
out_dir <- file.path("tests", "golden")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

# ---- group-sequential designs -------------------------------------------------------------
cases <- list(
  list(kind = "asOF", rates = c(0.5, 0.75, 1), alpha = 0.025, sided = 1),
  list(kind = "asOF", rates = c(0.33, 0.67, 1), alpha = 0.025, sided = 1),
  list(kind = "asOF", rates = c(0.25, 0.5, 0.75, 1), alpha = 0.05, sided = 2),
  list(kind = "asOF", rates = c(0.5, 1), alpha = 0.025, sided = 1),
  list(kind = "asP", rates = c(0.5, 0.75, 1), alpha = 0.025, sided = 1),
  list(kind = "asP", rates = c(0.2, 0.4, 0.6, 0.8, 1), alpha = 0.05, sided = 2),
  list(kind = "asHSD", rates = c(0.3, 0.7, 1), alpha = 0.025, sided = 1, gamma = -4),
  list(kind = "asHSD", rates = c(0.3, 0.7, 1), alpha = 0.025, sided = 1, gamma = 1),
  list(kind = "asHSD", rates = c(0.5, 1), alpha = 0.05, sided = 2, gamma = -2),
  list(kind = "asKD", rates = c(0.4, 0.8, 1), alpha = 0.025, sided = 1, gamma = 3),
  list(kind = "OF", rates = c(1 / 3, 2 / 3, 1), alpha = 0.025, sided = 1),
  list(kind = "OF", rates = c(0.3, 0.7, 1), alpha = 0.05, sided = 2),
  list(kind = "P", rates = c(0.3, 0.7, 1), alpha = 0.025, sided = 1),
  list(kind = "P", rates = c(0.25, 0.5, 0.75, 1), alpha = 0.05, sided = 2),
  list(kind = "WT", rates = c(0.5, 0.75, 1), alpha = 0.025, sided = 1, delta_wt = 0.25),
  list(kind = "asOF", rates = c(0.5, 0.75, 1), alpha = 0.025, sided = 1,
       futility = c(0, 0.5), binding = FALSE),
  list(kind = "asOF", rates = c(0.5, 0.75, 1), alpha = 0.025, sided = 1,
       futility = c(0, 0.5), binding = TRUE),
  list(kind = "asP", rates = c(0.4, 0.7, 1), alpha = 0.025, sided = 1,
       futility = c(-0.5, 0.3), binding = TRUE),
  list(kind = "asHSD", rates = c(0.3, 0.6, 1), alpha = 0.025, sided = 1, gamma = -2,
       futility = c(0.1, 0.8), binding = FALSE),
  list(kind = "OF", rates = c(0.5, 0.75, 1), alpha = 0.025, sided = 1,
       futility = c(0, 0.5), binding = TRUE),
  list(kind = "P", rates = c(0.5, 1), alpha = 0.025, sided = 1,
       futility = c(0.2), binding = TRUE)
)
drifts <- c(0, 1.5, 2.8, 3.6)

designs <- lapply(cases, function(cs) {
  args <- list(kMax = length(cs$rates), alpha = cs$alpha, sided = cs$sided,
               typeOfDesign = cs$kind, informationRates = cs$rates)
  if (!is.null(cs$gamma)) args$gammaA <- cs$gamma
  if (!is.null(cs$delta_wt)) args$deltaWT <- cs$delta_wt
  if (!is.null(cs$futility)) {
    args$futilityBounds <- cs$futility
    args$bindingFutility <- cs$binding
  }
  d <- do.call(getDesignGroupSequential, args)
  # exit probabilities under drift (expected final z) = theta * sqrt(nMax) with nMax = 1
  exits <- lapply(drifts, function(dr) {
    p <- getPowerAndAverageSampleNumber(d, theta = dr, nMax = 1)
    list(drift = dr,
         reject_per_stage = as.numeric(p$rejectPerStage),
         futility_per_stage = as.numeric(p$futilityPerStage),
         overall_reject = as.numeric(p$overallReject),
         average_sample_number = as.numeric(p$averageSampleNumber))
  })
  list(
    kind = cs$kind,
    information_rates = cs$rates,
    alpha = cs$alpha,
    sided = cs$sided,
    gamma = if (is.null(cs$gamma)) NULL else cs$gamma,
    delta_wt = if (is.null(cs$delta_wt)) NULL else cs$delta_wt,
    futility_bounds = if (is.null(cs$futility)) NULL else I(cs$futility),
    binding_futility = if (is.null(cs$binding)) FALSE else cs$binding,
    critical_values = as.numeric(d$criticalValues),
    alpha_spent = as.numeric(d$alphaSpent),
    stage_levels = as.numeric(d$stageLevels),
    exits = exits
  )
})
write(
  toJSON(list(generator = "scripts/golden/rpact.R",
              rpact_version = as.character(packageVersion("rpact")),
              designs = designs),
         auto_unbox = TRUE, digits = I(15), null = "null", pretty = TRUE),
  file.path(out_dir, "rpact_designs.json")
)
cat("wrote", file.path(out_dir, "rpact_designs.json"), "\n")

# ---- event-driven survival designs: analytic and simulated power ----------------------------
# Must match rpact_design() in tests/trial/conftest.py: uniform accrual of 40 patients a month for
# 20 months (800), 1:1, exponential control DFS with median 60 months, hazard ratio hr,
# exponential dropout 2% a year in both arms, looks at 100/150/200 events.
surv_cases <- list(
  list(name = "asOF_hr070", kind = "asOF", hr = 0.7, futility = NULL),
  list(name = "asOF_hr100", kind = "asOF", hr = 1.0, futility = NULL),
  list(name = "asP_hr075_futility", kind = "asP", hr = 0.75, futility = c(0, 0.5))
)
median_months <- 60
lambda2 <- log(2) / median_months
dropout <- 1 - exp(-0.02)  # per 12 months
events <- c(100, 150, 200)
surv <- lapply(surv_cases, function(cs) {
  args <- list(kMax = 3, alpha = 0.025, sided = 1, typeOfDesign = cs$kind,
               informationRates = events / max(events))
  if (!is.null(cs$futility)) {
    args$futilityBounds <- cs$futility
    args$bindingFutility <- FALSE
  }
  d <- do.call(getDesignGroupSequential, args)
  common <- list(design = d, lambda2 = lambda2, lambda1 = lambda2 * cs$hr,
                 accrualTime = c(0, 20), accrualIntensity = 40, maxNumberOfSubjects = 800,
                 dropoutRate1 = dropout, dropoutRate2 = dropout, dropoutTime = 12,
                 directionUpper = FALSE)
  pw <- do.call(getPowerSurvival, c(common, list(maxNumberOfEvents = max(events))))
  t0 <- Sys.time()
  n_sim <- 10000
  sim <- do.call(getSimulationSurvival,
                 c(common, list(plannedEvents = events, maxNumberOfIterations = n_sim, seed = 20240628)))
  elapsed <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
  list(
    name = cs$name, kind = cs$kind, hazard_ratio = cs$hr,
    futility_bounds = if (is.null(cs$futility)) NULL else I(cs$futility),
    planned_events = events,
    analytic = list(
      overall_reject = as.numeric(pw$overallReject),
      reject_per_stage = as.numeric(pw$rejectPerStage),
      futility_per_stage = as.numeric(pw$futilityPerStage),
      expected_events = as.numeric(pw$expectedNumberOfEvents),
      analysis_time_months = as.numeric(pw$analysisTime)
    ),
    simulation = list(
      iterations = n_sim,
      seconds = elapsed,
      overall_reject = as.numeric(sim$overallReject),
      reject_per_stage = as.numeric(sim$rejectPerStage),
      futility_per_stage = as.numeric(sim$futilityPerStage),
      expected_events = as.numeric(sim$expectedNumberOfEvents),
      expected_subjects = as.numeric(sim$expectedNumberOfSubjects),
      study_duration_months = as.numeric(sim$studyDuration),
      analysis_time_months = as.numeric(sim$analysisTime)
    )
  )
})
write(
  toJSON(list(generator = "scripts/golden/rpact.R",
              rpact_version = as.character(packageVersion("rpact")),
              cases = surv),
         auto_unbox = TRUE, digits = I(15), null = "null", pretty = TRUE),
  file.path(out_dir, "rpact_survival.json")
)
cat("wrote", file.path(out_dir, "rpact_survival.json"), "\n")

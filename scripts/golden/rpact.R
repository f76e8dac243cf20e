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

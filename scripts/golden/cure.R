#!/usr/bin/env Rscript
# Golden values for blinasim.stats.cure (mixture cure models).
#
# Peer: R flexsurvcure is not installable here (not in Debian, no CRAN access). Its mixture
# model, S(t) = pi + (1 - pi) S_u(t) with a logit link for pi, is written out below with
# survival's psurvreg/dsurvreg for the latent exponential, Weibull, log-normal and
# log-logistic distributions (log T = mu + sigma W), fitted by nlminb then optim (BFGS),
# variance from optimHess. Data: R's own survival::colon, recurrence (etype 1), arm Obs:
# a curve that levels off.
#
# Run from the repository root:  Rscript scripts/golden/cure.R
# Writes tests/golden/cure.json.
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
if (!dir.exists("tests/golden")) stop("run from the repository root")
out_file <- "tests/golden/cure.json"

nll <- function(par, t, e, dist) {
  pi <- plogis(par[1]); mu <- par[2]
  s <- if (dist == "exponential") 1 else exp(par[3])
  dens <- dsurvreg(t, mu, s, dist)
  surv <- 1 - psurvreg(t, mu, s, dist)
  -sum(ifelse(e == 1, log(1 - pi) + log(dens), log(pi + (1 - pi) * surv)))
}
d <- subset(colon, etype == 1 & rx == "Obs")
t <- d$time; e <- d$status
fits <- lapply(c("exponential", "weibull", "lognormal", "loglogistic"), function(dist) {
  base <- survreg(Surv(t, e) ~ 1, dist = dist)
  start <- c(qlogis(0.3), unname(coef(base)), if (dist != "exponential") log(base$scale))
  a <- nlminb(start, nll, t = t, e = e, dist = dist,
              control = list(rel.tol = 1e-15, x.tol = 1e-12, iter.max = 2000, eval.max = 5000))
  b <- optim(a$par, nll, t = t, e = e, dist = dist, method = "BFGS",
             control = list(reltol = 1e-16, maxit = 10000, ndeps = rep(1e-6, length(start))))
  par <- if (b$value <= a$objective) b$par else a$par
  h <- optimHess(par, nll, t = t, e = e, dist = dist,
                 control = list(ndeps = rep(1e-4, length(par))))
  list(latent = dist, coef = I(par), var = unname(solve(h)), loglik = -nll(par, t, e, dist),
       cured_fraction = plogis(par[1]))
})
meta <- list(generated_by = "scripts/golden/cure.R", r_version = R.version.string,
             survival_version = as.character(packageVersion("survival")),
             source = "survival::colon, etype == 1 (recurrence), rx Obs")
writeLines(toJSON(list(meta = meta, input = list(time = t, event = e), fits = fits),
                  auto_unbox = TRUE, digits = NA), out_file)
cat("wrote", out_file, "\n")

#!/usr/bin/env Rscript
# Golden values for blinasim.stats.spline (Royston-Parmar models, scale = "hazard").
#
# Peer: R flexsurvspline is not installable here (not in Debian, no CRAN access). Its model
# on the cumulative-hazard scale (Royston and Parmar 2002; flexsurv's basis: boundary
# knots at the range of the log event times, internal knots at their quantiles, type 7) is
# written out below and fitted by nlminb then optim (BFGS) with the analytic gradient;
# variance from optimHess on that gradient. k = 0 is the Weibull model (checked against
# survreg below). Data: R's own survival::lung and survival::colon (deaths, arm Obs).
#
# Run from the repository root:  Rscript scripts/golden/spline.R
# Writes tests/golden/spline.json.
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
if (!dir.exists("tests/golden")) stop("run from the repository root")
out_file <- "tests/golden/spline.json"

basis <- function(x, knots) {
  kmin <- knots[1]; kmax <- knots[length(knots)]
  b <- cbind(1, x); db <- cbind(0, rep(1, length(x)))
  for (kj in knots[-c(1, length(knots))]) {
    lam <- (kmax - kj) / (kmax - kmin)
    cu <- function(u) pmax(u, 0)^3
    sq <- function(u) pmax(u, 0)^2
    b <- cbind(b, cu(x - kj) - lam * cu(x - kmin) - (1 - lam) * cu(x - kmax))
    db <- cbind(db, 3 * (sq(x - kj) - lam * sq(x - kmin) - (1 - lam) * sq(x - kmax)))
  }
  list(b = b, db = db)
}
nll <- function(g, B, e, logt) {
  eta <- drop(B$b %*% g); deta <- drop(B$db %*% g)
  if (any(deta[e == 1] <= 0)) return(1e300)
  -(sum(e * (eta + log(ifelse(e == 1, deta, 1)) - logt)) - sum(exp(eta)))
}
gr <- function(g, B, e, logt) {
  eta <- drop(B$b %*% g); deta <- drop(B$db %*% g)
  inv <- ifelse(e == 1, 1 / deta, 0)
  -(drop(e %*% B$b) + drop(inv %*% B$db) - drop(exp(eta) %*% B$b))
}
spline_case <- function(name, t, e, k) {
  logt <- log(t)
  knots <- quantile(logt[e == 1], seq(0, 1, length.out = k + 2), names = FALSE)
  B <- basis(logt, knots)
  w <- survreg(Surv(t, e) ~ 1, dist = "weibull")
  start <- c(-coef(w)[[1]] / w$scale, 1 / w$scale, rep(0, k))
  a <- nlminb(start, nll, gr, B = B, e = e, logt = logt,
              control = list(rel.tol = 1e-15, x.tol = 1e-12, iter.max = 2000, eval.max = 5000))
  b <- optim(a$par, nll, gr, B = B, e = e, logt = logt, method = "BFGS",
             control = list(reltol = 1e-16, maxit = 10000))
  par <- if (b$value <= a$objective) b$par else a$par
  h <- optimHess(par, nll, gr, B = B, e = e, logt = logt)
  list(name = name, k = k, knots = I(knots), gamma = I(par), var = unname(solve(h)),
       loglik = -nll(par, B, e, logt), weibull_loglik = w$loglik[2],
       surv = I(exp(-exp(drop(basis(log(c(100, 365, 730, 1500)), knots)$b %*% par)))))
}
lung_t <- lung$time; lung_e <- as.integer(lung$status == 2)
d <- subset(colon, etype == 2 & rx == "Obs")
cases <- list(
  spline_case("lung_k0", lung_t, lung_e, 0),
  spline_case("lung_k1", lung_t, lung_e, 1),
  spline_case("lung_k2", lung_t, lung_e, 2),
  spline_case("colon_obs_k3", d$time, d$status, 3)
)
inputs <- list(lung = list(time = lung_t, event = lung_e),
               colon_obs = list(time = d$time, event = d$status))
meta <- list(generated_by = "scripts/golden/spline.R", r_version = R.version.string,
             survival_version = as.character(packageVersion("survival")),
             times = c(100, 365, 730, 1500))
writeLines(toJSON(list(meta = meta, inputs = inputs, cases = cases), auto_unbox = TRUE,
                  digits = NA), out_file)
cat("wrote", out_file, "\n")

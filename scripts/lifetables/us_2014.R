# US 2014 period life table (total population, by sex) from the R survival package's
# survexp.us rate table (daily hazards, -log(1 - q) / 365.25, from the US Census Bureau /
# NCHS tables), written back as one-year death probabilities q(x), ages 0 to 109.
# Run: Rscript scripts/lifetables/us_2014.R > src/blinasim/data/lifetables/us_2014.csv
library(survival)
rate <- survexp.us[, , "2014"]
q <- 1 - exp(-365.25 * rate)
cat(sprintf("# source: R survival %s, survexp.us, year 2014 (US Census Bureau / NCHS); q = 1 - exp(-365.25 * daily hazard)\n",
            as.character(packageVersion("survival"))))
cat("age,q_male,q_female\n")
for (i in seq_len(nrow(q))) {
  cat(sprintf("%d,%.8f,%.8f\n", i - 1L, q[i, "male"], q[i, "female"]))
}

# Rscript data/nearsingular/make_nearsingular.R [DIR]: a data set built to
# defeat the optimizer (issue 7): a random intercept and slope whose true
# correlation is 0.995, so the fitted covariance is nearly singular (the
# factor's second diagonal is small, close to its bound 0) and the
# criterion is flat along the correlation.  Simulated with a fixed seed,
# written to DIR/nearsingular.csv (DIR defaults to data/nearsingular), read
# back, fitted by REML and ML with lme4 (tight settings: data/lme4_json.R)
# and stored as DIR/lme4.json.  Then:
#   hlm-mpi import DIR/nearsingular.csv DIR/nearsingular.h5
source("data/lme4_json.R") # run from the repository's root
args <- commandArgs(TRUE)
dir <- if (length(args)) args[1] else "data/nearsingular"

## 40 subjects, 10 occasions x = 0..9; beta = (5, 1); sd(intercept) 2,
## sd(x) 0.5, correlation 0.9995; residual sd 1.5.
set.seed(11)
ns <- 40
Sd <- matrix(c(4, 0.9995 * 2 * 0.5, 0.9995 * 2 * 0.5, 0.25), 2)
b <- MASS::mvrnorm(ns, c(0, 0), Sd)
dat <- expand.grid(x = 0:9, subject = sprintf("S%02d", seq_len(ns)))
si <- as.integer(sub("S", "", dat$subject))
dat$y <- round(5 + dat$x + b[si, 1] + b[si, 2] * dat$x +
  rnorm(nrow(dat), 0, 1.5), 4)
dat <- dat[, c("subject", "x", "y")]
csv <- file.path(dir, "nearsingular.csv")
write.csv(dat, csv, row.names = FALSE)

d <- read.csv(csv)
form <- y ~ x + (1 + x | subject)
t_reml <- system.time(m_reml <- lme4::lmer(form, data = d, REML = TRUE,
                                           control = tight_control()))[[
  "elapsed"]]
m_ml <- lme4::lmer(form, data = d, REML = FALSE, control = tight_control())
check_fit(m_reml, TRUE, form, d, allow_singular = TRUE)
check_fit(m_ml, FALSE, form, d, allow_singular = TRUE)
write_lme4_json(form, m_reml, m_ml, file.path(dir, "lme4.json"),
  "nloptwrap, xtol_abs 1e-12, ftol_abs 1e-14, xtol_rel 1e-12 (tighter than lme4's defaults)",
  t_reml)
print(VarCorr(m_reml))
print(getME(m_reml, "theta"))
print(getME(m_ml, "theta"))
cat("singular:", isSingular(m_reml), isSingular(m_ml), "\n")

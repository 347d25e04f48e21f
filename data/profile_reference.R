# Rscript data/profile_reference.R [DATA_DIR]: profile-likelihood confidence
# intervals of the REML fits of dyestuff, sleepstudy and pastes, written to
# data/<set>/lme4_profile.json for tests/cli/test_profile_cli.sh.
#
# Two references per parameter (lme4's names: .sig01, ... in lme4's order,
# .sigma, then the fixed effects):
#   confint: lme4's confint(fit, method = "profile") (it profiles a grid of
#            points and interpolates zeta with splines: approximate);
#   precise: the same definition solved exactly here: zeta(x) = sign(x -
#            x_hat) sqrt(dev(x) - dev_min) = +-qnorm((1 + level) / 2) by
#            uniroot (tol 1e-13), where dev(x) is the ML deviance minimised
#            over the other parameters with x fixed.  Variance parameters use
#            lme4's own devfun2 (the deviance in (SDs, correlations, sigma),
#            what profile() uses) minimised by NLopt BOBYQA with tight
#            tolerances; a fixed effect beta_j = b is a tight ML refit of
#            y - b x_j on the other columns of X (lme4's profile uses an
#            offset the same way).  As lme4's profile, REML fits are refitted
#            by ML first (devfun2 calls refitML): the profile is of the ML
#            deviance.  An interval that reaches a bound (an SD of 0, a
#            correlation of -1 or 1) reports the bound.
# lme4 1.1-31 (Debian r-cran-lme4), nloptr.
suppressMessages({
  library(lme4)
  library(jsonlite)
  library(nloptr)
})
args <- commandArgs(TRUE)
dir <- if (length(args)) args[1] else "data"
level <- 0.95
zcrit <- qnorm((1 + level) / 2)
sets <- list(dyestuff = Yield ~ 1 + (1 | Batch),
             sleepstudy = Reaction ~ Days + (Days | Subject),
             pastes = strength ~ 1 + (1 | batch/cask))
ctrl <- lmerControl(optimizer = "nloptwrap",
                    optCtrl = list(xtol_abs = 1e-13, ftol_abs = 1e-15,
                                   xtol_rel = 1e-13, maxeval = 1e6))
bobyqa_min <- function(f, x0, lb, ub) {
  if (length(x0) == 0) return(f(numeric(0)))
  r <- nloptr(x0, f, lb = lb, ub = ub,
              opts = list(algorithm = "NLOPT_LN_BOBYQA", xtol_rel = 1e-14,
                          xtol_abs = 1e-14, ftol_abs = 1e-15, maxeval = 1e5))
  r$objective
}
## Root of zeta(x) - target between the estimate and the far side; the
## bound itself when |zeta| stays below zcrit up to it.
end_point <- function(zeta, est, dir, bound, step) {
  if (is.finite(bound)) {
    if (abs(zeta(bound)) < zcrit) return(bound)
    far <- bound
  } else {
    far <- est + dir * step
    while (abs(zeta(far)) < zcrit) far <- est + 2 * (far - est)
  }
  uniroot(function(x) zeta(x) - dir * zcrit, sort(c(est, far)),
          tol = 1e-13 * max(1, abs(est)), maxiter = 1000)$root
}
for (set in names(sets)) {
  form <- sets[[set]]
  d <- read.csv(file.path(dir, set, paste0(set, ".csv")))
  if (set == "sleepstudy") d$Subject <- factor(d$Subject)
  m <- lmer(form, data = d, REML = TRUE, control = ctrl)
  ci <- suppressWarnings(confint(m, method = "profile", level = level))
  mml <- lmer(form, data = d, REML = FALSE, control = ctrl)
  dd <- lme4:::devfun2(mml)
  opt <- attr(dd, "optimum")
  base <- attr(dd, "basedev")
  np <- length(getME(mml, "theta")) + 1
  vp <- opt[seq_len(np)]
  ## correlations: the off-diagonal entries of each term's lower triangle
  iscor <- c(unlist(lapply(lengths(mml@cnms), function(k) {
    m <- matrix(TRUE, k, k)
    diag(m) <- FALSE
    m[lower.tri(m, diag = TRUE)]
  })), FALSE)
  lb <- ifelse(iscor, -1, 0)
  ub <- ifelse(iscor, 1, Inf)
  lb[np] <- 1e-8 * vp[np]
  base <- min(base, dd(vp))
  y <- model.response(model.frame(mml))
  X <- getME(mml, "X")
  re <- paste(vapply(findbars(form), function(b) paste0("(", deparse(b), ")"),
                     ""), collapse = " + ")
  lower <- upper <- numeric(0)
  for (i in seq_len(np)) {
    prof <- function(x) {
      f <- function(z) { p <- vp; p[i] <- x; p[-i] <- z; dd(p) }
      bobyqa_min(f, vp[-i], lb[-i], ub[-i])
    }
    zeta <- function(x) sign(x - vp[i]) * sqrt(max(0, prof(x) - base))
    step <- 0.5 * abs(vp[i])
    lo <- end_point(zeta, vp[i], -1, if (iscor[i]) -1 else if (i < np) 0
                    else NA, step)
    if (i == np) {  # sigma: no bound at 0 reached (dev -> Inf)
      far <- vp[i] / 2
      while (zeta(far) > -zcrit) far <- far / 2
      lo <- uniroot(function(x) zeta(x) + zcrit, c(far, vp[i]),
                    tol = 1e-13 * vp[i], maxiter = 1000)$root
    }
    hi <- end_point(zeta, vp[i], 1, if (iscor[i]) 1 else NA, step)
    lower[names(vp)[i]] <- lo
    upper[names(vp)[i]] <- hi
  }
  for (j in seq_len(ncol(X))) {
    d$.X <- X[, -j, drop = FALSE]
    fe <- if (ncol(X) > 1) "0 + .X" else "0"
    prof <- function(b) {
      d$.y <- y - b * X[, j]
      deviance(lmer(as.formula(paste(".y ~", fe, "+", re)), data = d,
                    REML = FALSE, control = ctrl))
    }
    est <- fixef(mml)[j]
    zeta <- function(b) sign(b - est) * sqrt(max(0, prof(b) - base))
    se <- sqrt(diag(as.matrix(vcov(mml))))[j]
    nm <- colnames(X)[j]
    lower[nm] <- end_point(zeta, est, -1, NA, se)
    upper[nm] <- end_point(zeta, est, 1, NA, se)
  }
  out <- list(
    source = paste("data/profile_reference.R, lme4", packageVersion("lme4")),
    formula = deparse(form), level = level, method = "REML",
    profiled = "ML deviance (lme4 refits a REML fit by ML before profiling)",
    ml_deviance = base,
    ml_estimates = as.list(c(vp, fixef(mml))),
    parameters = names(lower),
    precise = list(lower = unname(lower), upper = unname(upper)),
    confint = list(parameters = rownames(ci), lower = unname(ci[, 1]),
                   upper = unname(ci[, 2])))
  write_json(out, file.path(dir, set, "lme4_profile.json"), digits = NA,
             auto_unbox = TRUE, pretty = TRUE)
  cat(set, "\n")
  print(cbind(precise_lo = lower, precise_hi = upper, ci))
}

# gibbs_reference.R CSV FORMULA WEIGHTS JSON VSHAPE VSCALE RSHAPE RSCALE
# An independent Gibbs sampler, dense and in R, for the model hlm-mpi
# fitted with method = "bayes" (flat prior on beta, inverse-gamma priors on
# every scalar variance component and the residual variance), run long
# here; the posterior means of every fixed effect and variance in hlm-mpi's
# JSON summary must agree within 4 combined Monte Carlo SEs (hlm-mpi's
# from its ESS, this sampler's by batch means).  WEIGHTS as in
# exact_posterior.R ("sd:COLUMN": known residual SDs, sigma = 1).
# IW (optional, "iw:NU:S"): a term of k > 1 correlated effects has an
# inverse-Wishart(NU, S I) prior on its covariance Sigma (NU "-": k + 1;
# S may also be a full k x k matrix written "a,b;c,d", row by row),
# drawn here as the inverse of stats::rWishart(NU + m, (S I + sum u u')^-1);
# then its SDs and correlations are compared too.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
a <- commandArgs(TRUE)
d <- read.csv(a[1], stringsAsFactors = TRUE)
form <- as.formula(a[2])
known <- startsWith(a[3], "sd:")
w <- if (a[3] == "-") rep(1, nrow(d)) else if (known)
  1 / d[[substring(a[3], 4)]]^2 else d[[a[3]]]
js <- fromJSON(a[4], simplifyVector = FALSE)
# VSHAPE "ht:NU:A": a half-t(NU, 0, A) prior on every group SD instead
# (VSCALE then unused), drawn here by random-walk Metropolis on log tau
# (10 steps per iteration), not by hlm-mpi's parameter-expanded or
# auxiliary-variable Gibbs steps
ht <- startsWith(a[5], "ht:")
if (ht) {
  htp <- as.numeric(strsplit(a[5], ":")[[1]][2:3])
  pr <- c(NA, NA, as.numeric(a[7:8]))
} else pr <- as.numeric(a[5:8])
# log posterior of eta = log tau given the effects ut: N(0, tau^2) density
# of ut, half-t prior on tau, Jacobian tau
lp_eta <- function(eta, ut) {
  tau <- exp(eta)
  -length(ut) * eta - sum(ut^2) / (2 * tau^2) -
    (htp[1] + 1) / 2 * log1p((tau / htp[2])^2 / htp[1]) + eta
}
lf <- lFormula(form, data = d, control = lmerControl(
  check.nobs.vs.nlev = "ignore", check.nobs.vs.rankZ = "ignore",
  check.nobs.vs.nRE = "ignore"))
X <- lf$X; Z <- t(as.matrix(lf$reTrms$Zt)); p <- ncol(X); q <- ncol(Z)
grp <- names(lf$reTrms$flist)[attr(lf$reTrms$flist, "assign")]
cnms <- lf$reTrms$cnms; Gp <- lf$reTrms$Gp
eff <- unlist(cnms); nt <- length(eff); kk <- lengths(cnms)
term <- findInterval(seq_len(q) - 1, Gp, rightmost.closed = TRUE)
iw <- if (length(a) >= 9) strsplit(a[9], ":")[[1]] else c("iw", "-", "1")
# the scale S: a number (S I), or a full matrix "a,b;c,d" (rows by ;)
iw_psi <- function(k) {
  if (!grepl(";", iw[3])) return(diag(as.numeric(iw[3]), k))
  M <- do.call(rbind, lapply(strsplit(iw[3], ";")[[1]],
                             function(r) as.numeric(strsplit(r, ",")[[1]])))
  stopifnot(nrow(M) == k, ncol(M) == k)
  M
}
y <- model.response(lf$fr); n <- length(y)
C <- cbind(X, Z); CtWC <- crossprod(C, w * C); CtWy <- crossprod(C, w * y)
set.seed(20261126)
# GIBBS_REF_NITER: fewer iterations for a quick check of the power
niter <- as.integer(Sys.getenv("GIBBS_REF_NITER", "15000")); burn <- 1000
# Sig[[j]]: the k x k covariance of term j (1 x 1 for a scalar term)
Sig <- lapply(kk, function(k) diag(var(y) / 2, k))
s2 <- if (known) 1 else var(y) / 2
ncor <- sum(kk * (kk - 1) / 2)
out <- matrix(NA, niter - burn, p + 2 * nt + ncor + 1)
for (it in 1:niter) {
  Dinv <- matrix(0, q, q)
  for (j in seq_along(kk)) {
    rows <- (Gp[j] + 1):Gp[j + 1]
    Dinv[rows, rows] <- kronecker(diag(length(rows) / kk[j]), solve(Sig[[j]]))
  }
  P <- CtWC / s2; P[-(1:p), -(1:p)] <- P[-(1:p), -(1:p)] + Dinv
  R <- chol(P)
  mu <- backsolve(R, forwardsolve(t(R), CtWy / s2))
  th <- mu + backsolve(R, rnorm(p + q))
  u <- th[-(1:p)]
  for (t in seq_along(kk)) {
    ut <- u[term == t]
    if (kk[t] > 1) {
      U <- matrix(ut, nrow = kk[t])          # one column per level
      nu <- if (iw[2] == "-") kk[t] + 1 else as.numeric(iw[2])
      Sig[[t]] <- solve(stats::rWishart(1, nu + ncol(U),
        solve(iw_psi(kk[t]) + tcrossprod(U)))[, , 1])
    } else if (ht) {
      eta <- log(Sig[[t]][1, 1]) / 2
      for (k in 1:10) {
        prop <- eta + rnorm(1, 0, 0.7)
        if (log(runif(1)) < lp_eta(prop, ut) - lp_eta(eta, ut)) eta <- prop
      }
      Sig[[t]][1, 1] <- exp(2 * eta)
    } else
    Sig[[t]][1, 1] <- 1 / rgamma(1, pr[1] + length(ut) / 2, pr[2] + sum(ut^2) / 2)
  }
  if (!known) {
    e <- y - C %*% th
    s2 <- 1 / rgamma(1, pr[3] + n / 2, pr[4] + sum(w * e^2) / 2)
  }
  v <- unlist(lapply(Sig, diag))
  cr <- unlist(lapply(Sig[kk > 1], function(S) cov2cor(S)[lower.tri(S)]))
  if (it > burn) out[it - burn, ] <- c(th[1:p], v, sqrt(v), cr, s2)
}
grp <- rep(grp, kk)
cn <- unlist(lapply(which(kk > 1), function(j) {
  e <- cnms[[j]]; ij <- which(lower.tri(diag(kk[j])), arr.ind = TRUE)
  sprintf("cor(%s %s,%s)", names(lf$reTrms$flist)[attr(lf$reTrms$flist,
    "assign")][j], e[ij[, 2]], e[ij[, 1]])
}))
nm <- c(colnames(X), sprintf("var(%s %s)", grp, eff),
        if (ncor > 0) c(sprintf("sd(%s %s)", grp, eff), cn) else
        rep("", nt), "var(Residual)")
bm <- function(x, nb = 40) {
  m <- floor(length(x) / nb) * nb; x <- x[seq_len(m)]
  sd(colMeans(matrix(x, ncol = nb))) / sqrt(nb)
}
st <- js$parameters; names(st) <- sapply(st, function(e) e$name)
bad <- 0; worst <- 0; nchk <- 0
for (i in seq_along(nm)) {
  if ((known && nm[i] == "var(Residual)") || nm[i] == "") next
  h <- st[[nm[i]]]
  if (is.null(h)) { cat("FAIL: no", nm[i], "in the summary\n"); bad <- bad + 1; next }
  if (h$ess < 400) { cat("FAIL: ESS of", nm[i], h$ess, "\n"); bad <- bad + 1 }
  se <- sqrt(h$mcse^2 + bm(out[, i])^2)
  z <- abs(h$mean - mean(out[, i])) / se
  worst <- max(worst, z); nchk <- nchk + 1
  cat(sprintf("%-28s hlm-mpi %.6g (ESS %.0f)  R %.6g  %.2f SEs\n", nm[i],
              h$mean, h$ess, mean(out[, i]), z))
  if (!is.finite(z) || z >= 4) bad <- bad + 1
}
cat(sprintf("%d posterior means: largest deviation %.2f MC SEs\n", nchk, worst))
quit(status = if (bad > 0) 1 else 0)

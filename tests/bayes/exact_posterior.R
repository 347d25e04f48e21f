# exact_posterior.R CSV FORMULA WEIGHTS JSON DRAWS [PRIOR]
# With the variances held (hlm-mpi's [bayes] fixed_variances = true), the
# posterior of (beta, u) is Gaussian.  Compute it here, densely and
# independently of hlm-mpi (lme4's lFormula gives X and Z only), at the
# variances the JSON summary says were held, and compare with the draws
# (beta: means and every covariance) and the summaries (u: means and SDs).
# Monte Carlo SEs by batch means (40 batches) of the draws themselves.
# WEIGHTS: a precision-weights column, "sd:COLUMN" for known residual SDs
# ([data] known_sd: sigma = 1), or "-".  PRIOR: "name=mean:var,..."
# (the [bayes.prior] of the run, diagonal B), "full:b1,..,bp|B11,..,B1p;
# ..;Bp1,..,Bpp" (a full B, in the order of the fixed effects) or absent
# (flat).  A term of k > 1 correlated effects ((Days | Subject)) has the
# prior covariance kronecker(I, Sigma) of its effects, Sigma from the held
# variances ("Subject Days") and covariances ("cov(Subject (Intercept),Days)").
# Exit status 1 when any |estimate - exact| >= 4 MC SEs or an ESS < 400.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
a <- commandArgs(TRUE)
d <- read.csv(a[1], stringsAsFactors = TRUE)
form <- as.formula(a[2])
w <- if (a[3] == "-") rep(1, nrow(d)) else if (startsWith(a[3], "sd:"))
  1 / d[[substring(a[3], 4)]]^2 else d[[a[3]]]
js <- fromJSON(a[4], simplifyVector = FALSE)
dr <- read.csv(a[5], check.names = FALSE)
lf <- lFormula(form, data = d, control = lmerControl(
  check.nobs.vs.nlev = "ignore", check.nobs.vs.rankZ = "ignore",
  check.nobs.vs.nRE = "ignore"))
X <- lf$X; Zt <- lf$reTrms$Zt; p <- ncol(X)
grp <- names(lf$reTrms$flist)[attr(lf$reTrms$flist, "assign")]
cnms <- lf$reTrms$cnms
held <- js$held_variances
s2 <- if (is.null(held$Residual)) 1 else held$Residual
Gp <- lf$reTrms$Gp
term_of_row <- findInterval(seq_len(nrow(Zt)) - 1, Gp, rightmost.closed = TRUE)
# the prior precision of u, block by block, and each row's effect name
Dinv <- matrix(0, nrow(Zt), nrow(Zt)); effrow <- character(nrow(Zt))
for (j in seq_along(cnms)) {
  e <- cnms[[j]]; k <- length(e); rows <- (Gp[j] + 1):Gp[j + 1]
  Sg <- diag(sapply(e, function(x) held[[paste(grp[j], x)]]), k)
  for (a1 in seq_len(k)) for (b1 in seq_len(k)) if (a1 < b1)
    Sg[a1, b1] <- Sg[b1, a1] <- held[[sprintf("cov(%s %s,%s)", grp[j], e[a1], e[b1])]]
  Dinv[rows, rows] <- kronecker(diag(length(rows) / k), solve(Sg))
  effrow[rows] <- rep(e, length(rows) / k)
}
D <- rep(0, nrow(Zt))
pm <- rep(0, p); Pp <- matrix(0, p, p)
if (length(a) >= 6 && startsWith(a[6], "full:")) {
  mb <- strsplit(substring(a[6], 6), "|", fixed = TRUE)[[1]]
  pm <- as.numeric(strsplit(mb[1], ",")[[1]])
  Bf <- do.call(rbind, lapply(strsplit(mb[2], ";")[[1]],
                              function(r) as.numeric(strsplit(r, ",")[[1]])))
  stopifnot(length(pm) == p, dim(Bf) == c(p, p))
  Pp <- solve(Bf)
} else if (length(a) >= 6) {
  for (e in strsplit(a[6], ",")[[1]]) {
    kv <- strsplit(e, "=")[[1]]; mv <- as.numeric(strsplit(kv[2], ":")[[1]])
    j <- match(kv[1], colnames(X)); pm[j] <- mv[1]; Pp[j, j] <- 1 / mv[2]
  }
}
y <- model.response(lf$fr)
C <- cbind(X, t(as.matrix(Zt)))
P <- crossprod(C, w * C) / s2
P[1:p, 1:p] <- P[1:p, 1:p] + Pp
P[-(1:p), -(1:p)] <- P[-(1:p), -(1:p)] + Dinv
V <- solve(P)
m <- drop(V %*% (crossprod(C, w * y) / s2 + c(Pp %*% pm, rep(0, length(D)))))
bm <- function(x, nb = 40) {         # batch-means MC SE of mean(x)
  n <- floor(length(x) / nb) * nb; x <- x[seq_len(n)]
  sd(colMeans(matrix(x, ncol = nb))) / sqrt(nb)
}
bad <- 0; worst <- 0
check <- function(what, est, exact, se) {
  z <- abs(est - exact) / se
  worst <<- max(worst, z)
  if (!is.finite(z) || z >= 4) {
    cat(sprintf("FAIL %s: %.8g vs exact %.8g (%.2f MC SEs)\n", what, est, exact, z))
    bad <<- bad + 1
  }
}
B <- as.matrix(dr[, colnames(X), drop = FALSE]); N <- nrow(B)
for (i in 1:p) {
  se <- bm(B[, i]); ess <- var(B[, i]) / se^2
  if (ess < 400) { cat("FAIL ESS of", colnames(X)[i], ess, "\n"); bad <- bad + 1 }
  check(paste("mean", colnames(X)[i]), mean(B[, i]), m[i], se)
  for (j in i:p) {
    pr <- (B[, i] - m[i]) * (B[, j] - m[j])
    check(paste("cov", colnames(X)[i], colnames(X)[j]), mean(pr), V[i, j], bm(pr))
  }
}
# random effects: posterior means and SDs from the summary; the draws are
# independent (each iteration draws (beta, u) exactly given the held
# variances), so their MC SEs are sd / sqrt(N) and sd / sqrt(2 N).
re <- js$random_effects
lab <- paste(grp[term_of_row], effrow, rownames(Zt))
nre <- 0
for (e in re) {
  k <- match(paste(e$group, e$effect, e$level), lab)
  if (is.na(k)) { cat("FAIL no level", e$group, e$effect, e$level, "\n"); bad <- bad + 1; next }
  sdx <- sqrt(V[p + k, p + k])
  check(paste("u mean", lab[k]), e$mean, m[p + k], sdx / sqrt(N))
  check(paste("u sd", lab[k]), e$sd, sdx, sdx / sqrt(2 * N))
  nre <- nre + 1
}
if (nre != length(D)) { cat("FAIL", nre, "random effects of", length(D), "\n"); bad <- bad + 1 }
cat(sprintf("%d draws; %d fixed effects (means, covariances), %d random effects: largest deviation %.2f MC SEs\n",
            N, p, nre, worst))
quit(status = if (bad > 0) 1 else 0)

# Rscript data/nested3/make_nested3.R [DIR]: simulate the nested3 data set
# (students in classes in schools in districts) with a fixed seed, write
# DIR/nested3.csv (DIR defaults to data/nested3), read it back and fit
#   y ~ x + (1 + x | district) + (1 | district:school) + (1 | district:school:class)
# by REML and by ML with lme4 (nloptwrap, xtol_abs 1e-12, ftol_abs 1e-14 and
# xtol_rel 1e-12: without the last, nloptr's default xtol_rel 1e-4 stops this
# 5-parameter fit after ~85 evaluations, theta off by ~2e-5; with it the fit
# agrees with minqa's bobyqa run to rhoend 1e-12 to ~5e-7 in theta and 1e-12
# in the criterion, which is about as well as the criterion determines theta;
# the ../shared/reference fits match a tight xtol_rel too),
# writing DIR/lme4.json in the layout of data/<set>/lme4.json (fields in
# ../shared/reference/README.md), numbers to 17 significant digits.
# Then: hlm-mpi import DIR/nested3.csv DIR/nested3.h5
# lme4 1.1-31, lmerTest 3.1-3 (Debian r-cran-lme4, r-cran-lmertest).
suppressMessages({
  library(lme4)
  library(lmerTest)
})
args <- commandArgs(TRUE)
dir <- if (length(args)) args[1] else "data/nested3"

## ---- simulation -----------------------------------------------------------
## 8 districts with 3-6 schools (district D2 has a single school), 1-5
## classes per school, 1-15 students per class (some classes with one).
## True values: beta = (10, 2); district sd(intercept) 3, sd(x) 1.2,
## correlation 0.5; school sd 2; class sd 1.5; residual sd 2.
set.seed(20261125)
n_dist <- 8
n_school <- sample(3:6, n_dist, replace = TRUE)
n_school[2] <- 1
rows <- list()
for (d in seq_len(n_dist)) {
  for (s in seq_len(n_school[d])) {
    n_class <- sample(1:5, 1)
    for (k in seq_len(n_class)) {
      size <- if (runif(1) < 0.1) 1 else sample(2:15, 1)
      rows[[length(rows) + 1]] <- data.frame(
        district = paste0("D", d), school = paste0("S", s),
        class = paste0("C", k), n = size)
    }
  }
}
cls <- do.call(rbind, rows)
stopifnot(sum(cls$n == 1) >= 2)
dat <- cls[rep(seq_len(nrow(cls)), cls$n), c("district", "school", "class")]
rownames(dat) <- NULL
n <- nrow(dat)
stopifnot(n >= 600, n <= 900)
dat$x <- round(rnorm(n), 3)

Sd <- matrix(c(3^2, 0.5 * 3 * 1.2, 0.5 * 3 * 1.2, 1.2^2), 2)
b_dist <- MASS::mvrnorm(n_dist, c(0, 0), Sd)
b_school <- rnorm(sum(n_school), 0, 2)
names(b_school) <- unique(paste(dat$district, dat$school, sep = ":"))
cls_id <- unique(paste(dat$district, dat$school, dat$class, sep = ":"))
b_class <- rnorm(length(cls_id), 0, 1.5)
names(b_class) <- cls_id
di <- as.integer(sub("D", "", dat$district))
dat$y <- round(10 + 2 * dat$x + b_dist[di, 1] + b_dist[di, 2] * dat$x +
  b_school[paste(dat$district, dat$school, sep = ":")] +
  b_class[paste(dat$district, dat$school, dat$class, sep = ":")] +
  rnorm(n, 0, 2), 4)
csv <- file.path(dir, "nested3.csv")
write.csv(dat, csv, row.names = FALSE)

## ---- fits (from the CSV as written) -----------------------------------------
d <- read.csv(csv)
form <- y ~ x + (1 + x | district) + (1 | district:school) +
  (1 | district:school:class)
ctrl <- lmerControl(optimizer = "nloptwrap",
                    optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14,
                                   xtol_rel = 1e-12, maxeval = 1e6))
t_reml <- system.time(m_reml <- lme4::lmer(form, data = d, REML = TRUE,
                                     control = ctrl))[["elapsed"]]
m_ml <- lme4::lmer(form, data = d, REML = FALSE, control = ctrl)

## Convergence: no lme4 warnings, optimizer status ok, tiny gradient, and a
## refit from another optimizer (bobyqa, tight) lands on the same theta.
check_fit <- function(m, reml) {
  msgs <- m@optinfo$conv$lme4$messages
  if (length(msgs)) stop("lme4 convergence messages: ", paste(msgs))
  if (m@optinfo$conv$opt != 0) stop("nloptwrap status ", m@optinfo$conv$opt)
  if (isSingular(m)) stop("fit is singular")
  b <- lme4::lmer(form, data = d, REML = reml,
            control = lmerControl(optimizer = "bobyqa",
                                  optCtrl = list(rhobeg = 0.2, rhoend = 1e-12,
                                                 maxfun = 1e6)))
  dth <- max(abs(getME(m, "theta") - getME(b, "theta")))
  dcrit <- deviance(m, REML = reml) - deviance(b, REML = reml)
  if (isTRUE(reml)) dcrit <- REMLcrit(m) - REMLcrit(b)
  cat(sprintf("%s: theta %s\n  max|theta - bobyqa| %.3g, crit - bobyqa %.3g, max|grad| %.3g\n",
              if (reml) "REML" else "ML",
              paste(sprintf("%.10f", getME(m, "theta")), collapse = " "),
              dth, dcrit, max(abs(m@optinfo$derivs$gradient))))
  if (dth > 1e-5 || abs(dcrit) > 1e-9) stop("optimum not confirmed by bobyqa")
}
check_fit(m_reml, TRUE)
check_fit(m_ml, FALSE)

## ---- JSON (layout of ../shared/reference/<set>/lme4.json, 17 digits) --------
num <- function(x) {
  if (is.null(x) || (length(x) == 1 && is.na(x))) return("null")
  if (is.logical(x)) return(if (x) "true" else "false")
  if (is.character(x)) return(paste0("\"", x, "\""))
  if (is.integer(x)) return(as.character(x))
  sprintf("%.17g", x)
}
ind <- function(k) strrep("  ", k)
vec <- function(x) paste0("[", paste(vapply(x, num, ""), collapse = ", "), "]")
obj <- function(fields, k) {
  # fields: named list of already-rendered strings
  paste0("{\n", paste0(ind(k + 1), "\"", names(fields), "\": ", fields,
                       collapse = ",\n"), "\n", ind(k), "}")
}
named_nums <- function(x, k) {
  fl <- lapply(x, num)
  names(fl) <- names(x)
  obj(fl, k)
}
arr <- function(items, k) {
  paste0("[\n", paste0(ind(k + 1), items, collapse = ",\n"), "\n", ind(k), "]")
}
fit_json <- function(m, k) {
  reml <- isREML(m)
  vc <- as.data.frame(VarCorr(m))
  vcs <- vapply(seq_len(nrow(vc)), function(i) obj(list(
    grp = num(vc$grp[i]), var1 = num(vc$var1[i]), var2 = num(vc$var2[i]),
    vcov = num(vc$vcov[i]), sdcor = num(vc$sdcor[i])), k + 2), "")
  re <- ranef(m, condVar = TRUE)
  res <- vapply(names(re), function(term) {
    r <- re[[term]]
    pv <- attr(r, "postVar")
    if (is.null(pv)) pv <- attr(r, "condVar")
    vals <- vapply(seq_len(ncol(r)), function(j) vec(r[[j]]), "")
    cvs <- vapply(seq_len(ncol(r)), function(j) vec(pv[j, j, ]), "")
    obj(list(term = num(term), levels = vec(rownames(r)),
             values = arr(vals, k + 3), condvar = arr(cvs, k + 3)), k + 2)
  }, "")
  crit <- if (reml) REMLcrit(m) else deviance(m)
  ng <- ngrps(m)
  obj(list(
    reml = num(reml),
    fixef = named_nums(fixef(m), k + 1),
    fixef_se = named_nums(setNames(sqrt(diag(as.matrix(vcov(m)))),
                                   names(fixef(m))), k + 1),
    varcorr = arr(vcs, k + 1),
    sigma = num(sigma(m)),
    logLik = num(as.numeric(logLik(m))),
    deviance_or_reml_criterion = num(crit),
    AIC = num(AIC(m)), BIC = num(BIC(m)),
    nobs = num(as.integer(nobs(m))),
    ngrps = named_nums(setNames(as.integer(ng), names(ng)), k + 1),
    singular = num(isSingular(m)),
    ranef = arr(res, k + 1)), k)
}
m_lt <- as_lmerModLmerTest(m_reml)
sat <- summary(m_lt)$coefficients[, "df"]
out <- obj(list(
  formula = num(paste(deparse(form, width.cutoff = 500), collapse = "")),
  weights = "null",
  optimizer = num("nloptwrap, xtol_abs 1e-12, ftol_abs 1e-14, xtol_rel 1e-12 (tighter than lme4's defaults)"),
  lme4_version = num(as.character(packageVersion("lme4"))),
  REML = fit_json(m_reml, 1),
  ML = fit_json(m_ml, 1),
  lme4_reml_seconds = num(t_reml),
  satterthwaite_df_REML = named_nums(sat, 1)), 0)
writeLines(out, file.path(dir, "lme4.json"))

cat(n, "rows;", nrow(cls), "classes;", sum(n_school), "schools;", n_dist,
    "districts;", sum(cls$n == 1), "single-row classes\n")
print(summary(m_lt), correlation = FALSE)

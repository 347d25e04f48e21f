# Rscript data/centering/centering_reference.R [DATA_DIR]: lme4 fits (REML
# and ML) of models with centred and cluster-mean covariates (issue 8;
# docs/formula.md, "Centering and cluster means") on data/centering,
# written in the layout of data/<set>/lme4.json
# (../shared/reference/README.md):
#   data/centering/lme4_cwc.json   cwc/cmean by school (the partition
#                                  factor), cmean by nbhd (crossed with
#                                  school), a random cwc slope
#   data/centering/lme4_gmc.json   grand-mean centring, a random gmc slope
# The derived columns are computed the way lme4 users compute them, with
# ave() over the rows used (incomplete rows dropped first, as hlm-mpi
# does), unweighted:
#   cmean(x, g) = ave(x, g), cwc(x, g) = x - ave(x, g), gmc(x) = x - mean(x)
# and lmer() evaluates them inside the formula, so the coefficient names
# are the calls as R deparses them ("cwc(ses, school)"), the names hlm-mpi
# prints.  lme4 1.1-31 (Debian r-cran-lme4).  The optimizer runs to much
# tighter tolerances than the other references (nloptwrap, xtol_abs 1e-14,
# ftol_abs 1e-16, no relative tolerances) and is restarted once at its
# optimum: with four variance parameters the looser settings stop about
# 1e-8 short of the optimum of the criterion, 1e-5 in the parameters.
suppressMessages({
  library(lme4)
  library(jsonlite)
})
args <- commandArgs(TRUE)
dir <- if (length(args)) args[1] else "data"

cmean <- function(x, g) ave(x, g)
cwc <- function(x, g) x - ave(x, g)
gmc <- function(x) x - mean(x)

cases <- list(
  cwc = y ~ cwc(ses, school) + cmean(ses, school) + cmean(ses, nbhd) +
    (1 + cwc(ses, school) | school) + (1 | nbhd),
  gmc = y ~ gmc(ses) + cmean(ses, school) + (1 + gmc(ses) | school)
)

ctrl <- lmerControl(optimizer = "nloptwrap",
                    optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-16,
                                   xtol_rel = 0, ftol_rel = 0, maxeval = 1e5))
fit <- function(f, d, reml) {
  m <- lmer(f, data = d, REML = reml, control = ctrl)
  update(m, start = getME(m, "theta"))
}

ranef_json <- function(m) {
  re <- ranef(m, condVar = TRUE)
  lapply(names(re), function(g) {
    r <- re[[g]]
    pv <- attr(r, "postVar")
    list(term = g, levels = rownames(r),
         values = lapply(seq_along(r), function(k) unname(r[[k]])),
         condvar = lapply(seq_along(r), function(k) unname(pv[k, k, ])))
  })
}

fit_json <- function(m) {
  vc <- as.data.frame(VarCorr(m))
  list(reml = isREML(m), fixef = as.list(fixef(m)),
       fixef_se = as.list(sqrt(diag(as.matrix(vcov(m))))),
       varcorr = lapply(seq_len(nrow(vc)), function(i) list(
         grp = vc$grp[i], var1 = vc$var1[i], var2 = vc$var2[i],
         vcov = vc$vcov[i], sdcor = vc$sdcor[i])),
       sigma = sigma(m), logLik = as.numeric(logLik(m)),
       deviance_or_reml_criterion = if (isREML(m)) REMLcrit(m) else deviance(m),
       AIC = AIC(m), BIC = BIC(m), nobs = nobs(m), ngrps = as.list(ngrps(m)),
       singular = isSingular(m), ranef = ranef_json(m))
}

d <- read.csv(file.path(dir, "centering", "centering.csv"))
d <- d[complete.cases(d), ]
d$school <- factor(d$school)
d$nbhd <- factor(d$nbhd)
for (name in names(cases)) {
  f <- cases[[name]]
  reml <- fit(f, d, TRUE)
  ml <- fit(f, d, FALSE)
  out <- list(formula = paste(deparse(f, width.cutoff = 500), collapse = ""),
              weights = NA,
              optimizer = paste("nloptwrap, xtol_abs 1e-14, ftol_abs 1e-16,",
                                "xtol_rel 0, ftol_rel 0, restarted once",
                                "(tighter than lme4's defaults)"),
              lme4_version = as.character(packageVersion("lme4")),
              REML = fit_json(reml), ML = fit_json(ml))
  path <- file.path(dir, "centering", paste0("lme4_", name, ".json"))
  write_json(out, path, digits = NA, auto_unbox = TRUE, pretty = TRUE,
             na = "null")
  cat(path, "\n")
  print(summary(reml))
}

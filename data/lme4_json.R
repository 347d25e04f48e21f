# lme4_json.R: shared by the data/<set>/make_*.R scripts that fit a data set
# with lme4 and store the fit as lme4.json, in the layout of
# ../shared/reference/<set>/lme4.json (17 significant digits).
#   source("data/lme4_json.R")
#   check_fit(m, reml, form, d)        stop unless the optimum is confirmed
#   write_lme4_json(form, m_reml, m_ml, path, optimizer, t_reml)
suppressMessages({
  library(lme4)
  library(lmerTest)
})

## tight optimizer settings (lme4's defaults stop early: ../shared/reference)
tight_control <- function() {
  lmerControl(optimizer = "nloptwrap",
              optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14,
                             xtol_rel = 1e-12, maxeval = 1e6))
}

## Convergence: no lme4 warnings, optimizer status ok, tiny gradient, and a
## refit from another optimizer (bobyqa, tight) lands on the same theta.
check_fit <- function(m, reml, form, d, allow_singular = FALSE) {
  msgs <- m@optinfo$conv$lme4$messages
  if (allow_singular) msgs <- grep("singular", msgs, invert = TRUE, value = TRUE)
  if (length(msgs)) stop("lme4 convergence messages: ", paste(msgs))
  if (m@optinfo$conv$opt != 0) stop("nloptwrap status ", m@optinfo$conv$opt)
  if (isSingular(m) && !allow_singular) stop("fit is singular")
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
write_lme4_json <- function(form, m_reml, m_ml, path, optimizer, t_reml) {
  m_lt <- as_lmerModLmerTest(m_reml)
  sat <- summary(m_lt)$coefficients[, "df"]
  out <- obj(list(
    formula = num(paste(deparse(form, width.cutoff = 500), collapse = "")),
    weights = "null",
    optimizer = num(optimizer),
    lme4_version = num(as.character(packageVersion("lme4"))),
    REML = fit_json(m_reml, 1),
    ML = fit_json(m_ml, 1),
    lme4_reml_seconds = num(t_reml),
    satterthwaite_df_REML = named_nums(sat, 1)), 0)
  writeLines(out, path)
  invisible(m_lt)
}

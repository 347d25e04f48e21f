# Rscript data/lrt_reference.R [DATA_DIR]: lme4's anova(m0, m1) of nested
# models, written to data/<set>/lme4_lrt.json for tests/cli/test_lrt_cli.sh.
# Models that differ in fixed effects: anova(m0, m1) (both refitted by ML,
# lme4's default refit = TRUE); models that differ only in random terms:
# anova(m0, m1, refit = FALSE) (REML, as hlm-mpi compares them).
# lme4 1.1-31 (Debian r-cran-lme4).
suppressMessages({
  library(lme4)
  library(jsonlite)
})
args <- commandArgs(TRUE)
dir <- if (length(args)) args[1] else "data"
tests <- list(
  sleepstudy = list(
    full = Reaction ~ Days + (Days | Subject),
    list(name = "no Days", drop = "Days",
         m0 = Reaction ~ 1 + (Days | Subject), refit = TRUE),
    list(name = "no slope", formula = "Reaction ~ Days + (1 | Subject)",
         m0 = Reaction ~ Days + (1 | Subject), refit = FALSE)),
  pastes = list(
    full = strength ~ 1 + (1 | batch/cask),
    list(name = "no cask", drop = "(1 | cask:batch)",
         m0 = strength ~ 1 + (1 | batch), refit = FALSE)),
  oats = list(
    full = yield ~ nitro * Variety + (1 | Block/Variety),
    list(name = "no interaction", drop = "nitro:Variety",
         m0 = yield ~ nitro + Variety + (1 | Block/Variety), refit = TRUE))
)
for (set in names(tests)) {
  d <- read.csv(file.path(dir, set, paste0(set, ".csv")))
  m1 <- lmer(tests[[set]]$full, data = d, REML = TRUE)
  out <- list()
  for (t in tests[[set]][-1]) {
    m0 <- lmer(t$m0, data = d, REML = TRUE)
    a <- anova(m0, m1, refit = t$refit)
    out[[length(out) + 1]] <- list(
      name = t$name, drop = t$drop, formula = t$formula,
      method = if (t$refit) "ML" else "REML",
      npar = a$npar, AIC = a$AIC, BIC = a$BIC, logLik = a$logLik,
      deviance = a$deviance, chisq = a$Chisq[2], df = a$Df[2],
      p = a[["Pr(>Chisq)"]][2])
    cat(set, t$name, "\n")
    print(a)
  }
  write_json(list(lme4_version = as.character(packageVersion("lme4")),
                  formula = deparse(tests[[set]]$full), tests = out),
             file.path(dir, set, "lme4_lrt.json"), digits = NA,
             auto_unbox = TRUE, pretty = TRUE)
}

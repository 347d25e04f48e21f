# Rscript data/anova_reference.R [DATA_DIR]: lmerTest's anova() tables
# (Satterthwaite's df; type III, lmerTest's default; type I and II too) of
# the reference models with fixed-effect terms, written to
# data/<set>/lmertest_anova.json.  Used by tests/mpi/test_anova_reference.c.
# lmerTest 3.1-3, lme4 1.1-31 (Debian r-cran-lmertest, r-cran-lme4).
suppressMessages({
  library(lmerTest)
  library(jsonlite)
})
args <- commandArgs(TRUE)
dir <- if (length(args)) args[1] else "data"
cases <- list(
  seedlings = weight ~ genotype + (1 | tray),
  oats = yield ~ nitro * Variety + (1 | Block/Variety),
  cake = angle ~ recipe * temp + (1 | recipe:replicate),
  sleepstudy = Reaction ~ Days + (Days | Subject),
  sectors = logwage ~ exper + (1 | sector/firm)
)
table_json <- function(a) {
  rows <- lapply(seq_len(nrow(a)), function(i) list(
    term = rownames(a)[i], sum_sq = a[i, "Sum Sq"], mean_sq = a[i, "Mean Sq"],
    num_df = a[i, "NumDF"], den_df = a[i, "DenDF"], F = a[i, "F value"],
    p = a[i, "Pr(>F)"]))
  rows
}
for (set in names(cases)) {
  d <- read.csv(file.path(dir, set, paste0(set, ".csv")))
  m <- lmer(cases[[set]], data = d, REML = TRUE)
  out <- list(formula = deparse(cases[[set]]),
              lmerTest_version = as.character(packageVersion("lmerTest")),
              lme4_version = as.character(packageVersion("lme4")),
              ddf = "Satterthwaite",
              theta = I(unname(getME(m, "theta"))))
  for (type in c("III", "II", "I")) {
    a <- anova(m, type = type)
    out[[paste0("type_", type)]] <- table_json(a)
    out[[paste0("hypotheses_", type)]] <-
      lapply(attr(a, "hypotheses"), function(L) list(
        rows = unname(lapply(seq_len(nrow(L)), function(i) unname(L[i, ]))),
        columns = colnames(L)))
  }
  write_json(out, file.path(dir, set, "lmertest_anova.json"), digits = NA,
             auto_unbox = TRUE, pretty = TRUE)
  cat(set, "\n")
  print(anova(m))
}

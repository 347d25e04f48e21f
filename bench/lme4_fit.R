# Rscript bench/lme4_fit.R DATA.csv OUT.json REPS: time lmer() (REML, lme4
# defaults) on the benchmark model; print "lmer_seconds T" (minimum of REPS)
# and write the estimates as JSON (no jsonlite needed).
suppressMessages(library(lme4))
a <- commandArgs(TRUE)
d <- read.csv(a[1])
d$school <- factor(d$school)
f <- y ~ x1 + x2 + x3 + x4 + x5 + (1 + x1 | school)
best <- Inf
for (i in seq_len(as.integer(a[3]))) {
  t <- system.time(m <- lmer(f, data = d, REML = TRUE))[["elapsed"]]
  best <- min(best, t)
}
cat("lmer_seconds", best, "\n")
vc <- as.data.frame(VarCorr(m))
fe <- fixef(m)
num <- function(x) formatC(x, digits = 17, format = "g")
out <- c("{", "\"fixef\": {",
         paste0("\"", names(fe), "\": ", num(fe), collapse = ",\n"), "},",
         "\"sdcor\": [", paste(num(vc$sdcor), collapse = ", "), "],",
         paste0("\"reml_criterion\": ", num(REMLcrit(m)), ","),
         paste0("\"converged_messages\": ", length(m@optinfo$conv$lme4$messages)),
         "}")
writeLines(out, a[2])

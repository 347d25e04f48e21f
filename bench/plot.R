# Rscript bench/plot.R RESULTS.txt docs/performance.png: time against rows
# (log-log) for hlm-mpi (1 and 2 ranks) and lme4, from bench/lme4_compare.sh.
a <- commandArgs(TRUE)
l <- grep("^[0-9]", readLines(a[1]), value = TRUE)
f <- do.call(rbind, lapply(strsplit(l, " +"), function(x) x[1:6]))
n <- as.numeric(f[, 1]); h1 <- as.numeric(f[, 3]); h2 <- as.numeric(f[, 4])
r <- suppressWarnings(as.numeric(f[, 6]))
png(a[2], width = 720, height = 480)
plot(n, h2, log = "xy", type = "b", pch = 19, col = "blue",
     ylim = range(c(h1, h2, r), na.rm = TRUE), xlab = "rows",
     ylab = "seconds (minimum of runs)",
     main = "y ~ x1 + ... + x5 + (1 + x1 | school), rows / 100 schools")
lines(n, h1, type = "b", pch = 1, col = "blue", lty = 2)
lines(n, r, type = "b", pch = 17, col = "red")
legend("topleft", c("hlm-mpi, 2 ranks (whole command)",
                    "hlm-mpi, 1 rank (whole command)", "lme4 lmer() call"),
       col = c("blue", "blue", "red"), pch = c(19, 1, 17), lty = c(1, 2, 1))
invisible(dev.off())

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
source("data/lme4_json.R") # run from the repository's root
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
ctrl <- tight_control()
t_reml <- system.time(m_reml <- lme4::lmer(form, data = d, REML = TRUE,
                                     control = ctrl))[["elapsed"]]
m_ml <- lme4::lmer(form, data = d, REML = FALSE, control = ctrl)

check_fit(m_reml, TRUE, form, d)
check_fit(m_ml, FALSE, form, d)
m_lt <- write_lme4_json(form, m_reml, m_ml, file.path(dir, "lme4.json"),
  "nloptwrap, xtol_abs 1e-12, ftol_abs 1e-14, xtol_rel 1e-12 (tighter than lme4's defaults)",
  t_reml)

cat(n, "rows;", nrow(cls), "classes;", sum(n_school), "schools;", n_dist,
    "districts;", sum(cls$n == 1), "single-row classes\n")
print(summary(m_lt), correlation = FALSE)

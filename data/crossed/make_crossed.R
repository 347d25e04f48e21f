# Rscript data/crossed/make_crossed.R: lme4's fit of the crossed design of
# issue 15 (students in 60 schools, each also in one of 300 neighbourhoods
# crossed with the schools; dim S = 302 when partitioned by school), from
# data/crossed/crossed.csv, which tests/data/make_crossed.py writes:
#   python3 tests/data/make_crossed.py data/crossed/crossed.csv
# REML and ML with tight settings (data/lme4_json.R), stored as
# data/crossed/lme4.json.  Run from the repository's root.
source("data/lme4_json.R")
d <- read.csv("data/crossed/crossed.csv")
form <- y ~ x + (1 | school) + (1 | nbhd)
t_reml <- system.time(m_reml <- lme4::lmer(form, data = d, REML = TRUE,
                                           control = tight_control()))[[
  "elapsed"]]
m_ml <- lme4::lmer(form, data = d, REML = FALSE, control = tight_control())
check_fit(m_reml, TRUE, form, d)
check_fit(m_ml, FALSE, form, d)
write_lme4_json(form, m_reml, m_ml, "data/crossed/lme4.json",
  "nloptwrap, xtol_abs 1e-12, ftol_abs 1e-14, xtol_rel 1e-12 (tighter than lme4's defaults)",
  t_reml)
print(VarCorr(m_reml))

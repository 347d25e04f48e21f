# rbatch.R JOBS: run several checks of exact_posterior.R or
# gibbs_reference.R in one R session, so that lme4 (2 s) loads once.
# JOBS has one job a line, tab-separated: OUTPUT SCRIPT ARG...  Each job
# runs as `Rscript SCRIPT ARG... > OUTPUT 2>&1` would, in a fresh
# environment (commandArgs(TRUE) gives its ARGs, quit(status) ends it),
# with the random-number state of a fresh R session, and its exit status
# goes to OUTPUT.rc.
jobs <- strsplit(readLines(commandArgs(TRUE)[1]), "\t", fixed = TRUE)
for (job in jobs) {
  out <- job[1]; script <- job[2]; args <- job[-(1:2)]
  env <- new.env(parent = globalenv())
  env$commandArgs <- function(trailingOnly = FALSE) args
  env$quit <- function(save = "default", status = 0, runLast = TRUE)
    stop(structure(class = c("rbatch_quit", "condition"),
                   list(message = "quit", call = NULL, status = status)))
  # a fresh session's RNG: unseeded (a job that wants a seed sets one)
  if (exists(".Random.seed", envir = globalenv()))
    rm(".Random.seed", envir = globalenv())
  con <- file(out, open = "wt")
  sink(con); sink(con, type = "message")
  status <- tryCatch({
    sys.source(script, envir = env, toplevel.env = env)
    0
  }, rbatch_quit = function(q) q$status,
  error = function(e) { message("Error: ", conditionMessage(e)); 1 })
  sink(type = "message"); sink()
  close(con)
  writeLines(as.character(status), paste0(out, ".rc"))
}

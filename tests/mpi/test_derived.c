/* MPI test of the derived variables cmean(x, g), cwc(x, g) and gmc(x)
 * (issue 8; docs/formula.md): the values hlm_design_derived computes on
 * each rank's rows against values computed here from the CSV file itself
 * (long double sums over the complete rows, grouped by the text of g's
 * fields), within 1e-12 relative.  Rows are matched by their row in the
 * file, so the partition does not matter; run at several rank counts and
 * with a partition factor that g contains (local means) or not (means
 * reduced over ranks).
 * usage: test_derived DATA.h5 DATA.csv CLUSTER FORMULA
 * (white box: includes src/design_internal.h) */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "design_internal.h"
#include "hlm/data.h"
#include "hlm/formula.h"
#include "hlm/partition.h"

enum { MAXROWS = 4096, MAXCOLS = 16, MAXLEN = 64 };

static int rank = 0, nbad = 0, nchecked = 0;

/* The CSV: complete rows only (a field "NA" or "" drops the row), as the
 * text of each field; row[r] is the file row of complete row r. */
typedef struct csv {
  int ncols, nrows;
  char name[MAXCOLS][MAXLEN];
  char (*field)[MAXCOLS][MAXLEN];
  int row[MAXROWS];
} csv;

static void strip(char *s)
{
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r')) {
    s[--n] = '\0';
  }
  if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
    memmove(s, s + 1, n - 2);
    s[n - 2] = '\0';
  }
}

/* Split line at commas into out[0..MAXCOLS); returns the count. */
static int split(char *line, char out[MAXCOLS][MAXLEN])
{
  int n = 0;
  for (char *tok = strtok(line, ","); tok && n < MAXCOLS;
       tok = strtok(NULL, ",")) {
    snprintf(out[n], MAXLEN, "%s", tok);
    strip(out[n++]);
  }
  return n;
}

static int read_csv(const char *path, csv *c)
{
  char line[1024], f[MAXCOLS][MAXLEN];
  FILE *fp = fopen(path, "r");
  if (fp == NULL || fgets(line, sizeof line, fp) == NULL) {
    return -1;
  }
  c->ncols = split(line, c->name);
  c->field = calloc(MAXROWS, sizeof *c->field);
  for (int file_row = 0; fgets(line, sizeof line, fp); file_row++) {
    int n = split(line, f), complete = n == c->ncols;
    for (int k = 0; k < n; k++) {
      complete &= strcmp(f[k], "NA") != 0 && f[k][0] != '\0';
    }
    if (complete && c->nrows < MAXROWS) {
      memcpy(c->field[c->nrows], f, sizeof f);
      c->row[c->nrows++] = file_row;
    }
  }
  fclose(fp);
  return 0;
}

static int col_of(const csv *c, const char *name)
{
  for (int k = 0; k < c->ncols; k++) {
    if (!strcmp(c->name[k], name)) {
      return k;
    }
  }
  fprintf(stderr, "no column %s in the CSV\n", name);
  exit(2);
}

/* The expected values of derived variable v on every complete CSV row. */
static void expected(const csv *c, const hlm_formula_var *v,
                     const hlm_formula *f, double *out)
{
  int x = col_of(c, hlm_formula_variable(f, v->source)->name);
  static char key[MAXROWS][MAXCOLS * MAXLEN];
  long double *sum = calloc((size_t)c->nrows, sizeof *sum);
  int *count = calloc((size_t)c->nrows, sizeof *count);
  for (int r = 0; r < c->nrows; r++) {
    key[r][0] = '\0';
    for (int k = 0; k < v->by.nvars; k++) {
      strcat(key[r], c->field[r][col_of(c, v->by.name[k])]);
      strcat(key[r], "\x1f");
    }
  }
  for (int r = 0; r < c->nrows; r++) {
    for (int s = 0; s < c->nrows; s++) {
      if (!strcmp(key[r], key[s])) {
        sum[r] += strtold(c->field[s][x], NULL);
        count[r]++;
      }
    }
  }
  for (int r = 0; r < c->nrows; r++) {
    long double mean = sum[r] / count[r];
    long double xr = strtold(c->field[r][x], NULL);
    out[r] = (double)(v->derived == HLM_FORMULA_CMEAN ? mean : xr - mean);
  }
  free(sum);
  free(count);
}

static void check_var(const csv *c, const hlm_formula *f, int v,
                      const hlm_table *t, const double *got)
{
  const hlm_formula_var *fv = hlm_formula_variable(f, v);
  double *want = calloc((size_t)c->nrows, sizeof *want);
  expected(c, fv, f, want);
  for (int64_t i = 0; i < hlm_table_nrows(t); i++) {
    int64_t file_row = hlm_table_row_index(t)[i];
    int r = 0;
    while (r < c->nrows && c->row[r] != file_row) {
      r++;
    }
    nchecked++;
    if (r == c->nrows) {
      fprintf(stderr, "rank %d: file row %lld is not a complete CSV row\n",
              rank, (long long)file_row);
      nbad++;
      continue;
    }
    double tol = 1e-12 * (fabs(want[r]) > 1 ? fabs(want[r]) : 1);
    if (!(fabs(got[i] - want[r]) <= tol) && nbad++ < 20) {
      fprintf(stderr, "rank %d: %s, file row %lld: got %.17g, CSV %.17g\n",
              rank, fv->name, (long long)file_row + 1, got[i], want[r]);
    }
  }
  free(want);
}

/* Read, partition and compute the derived values, as hlm-mpi does. */
static hlm_status load(const char *h5, const hlm_formula *f,
                       const char *cluster, hlm_table **t, hlm_clusters *cl,
                       double ***vals)
{
  hlm_status s = hlm_table_read(MPI_COMM_WORLD, h5, "data", NULL, 0, t);
  if (s == HLM_OK) {
    s = hlm_design_prepare_table(MPI_COMM_WORLD, f, *t);
  }
  if (s == HLM_OK) {
    s = hlm_table_drop_missing(MPI_COMM_WORLD, *t, NULL, NULL);
  }
  if (s == HLM_OK) {
    s = hlm_partition_by_cluster(MPI_COMM_WORLD, t, cluster, cl, NULL);
  }
  if (s == HLM_OK) {
    s = hlm_design_derived(MPI_COMM_WORLD, f, *t, cl, vals);
  }
  return s;
}

int main(int argc, char **argv)
{
  int size = 1, total = 0, nderived = 0;
  hlm_formula *f = NULL;
  hlm_table *t = NULL;
  hlm_clusters cl = {0};
  double **vals = NULL;
  csv c = {0};
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (argc < 5 || read_csv(argv[2], &c) != 0) {
    fprintf(stderr, "usage: test_derived DATA.h5 DATA.csv CLUSTER FORMULA\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  hlm_status s = hlm_formula_parse(argv[4], &f);
  if (s == HLM_OK) {
    s = load(argv[1], f, argv[3], &t, &cl, &vals);
  }
  if (s != HLM_OK) {
    fprintf(stderr, "rank %d: %s\n", rank, hlm_error_message());
    nbad++;
  }
  for (int v = 0; s == HLM_OK && v < hlm_formula_var_count(f); v++) {
    if (hlm_formula_variable(f, v)->derived != HLM_FORMULA_COLUMN) {
      check_var(&c, f, v, t, vals[v]);
      nderived++;
    }
  }
  if (s == HLM_OK && nderived == 0) {
    fprintf(stderr, "the formula has no derived variable\n");
    nbad++;
  }
  hlm_design_derived_free(&vals, f ? hlm_formula_var_count(f) : 0);
  hlm_clusters_free(&cl);
  hlm_table_destroy(&t);
  hlm_formula_destroy(&f);
  free(c.field);
  MPI_Allreduce(MPI_IN_PLACE, &nchecked, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(&nbad, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("test_derived %s by %s: %d ranks, %d derived variables, %d values "
           "checked, %d failed\n",
           argv[2], argv[3], size, nderived, nchecked, total);
  }
  MPI_Finalize();
  return total != 0 || nchecked == 0;
}

/* MPI test: lme4's profiled criteria at many theta values (not only the
 * optimum), computed by hlm_fit_criterion_at (absorbed, reduced over
 * ranks), against a brute-force dense computation done here on rank 0 from
 * the CSV: with V0 = Z T T' Z' + I (n x n, sigma profiled out),
 *   r2    = min_beta (y - X beta)' V0^-1 (y - X beta)
 *   ML:   log det V0 + n (1 + log(2 pi r2 / n))
 *   REML: log det V0 + log det(X' V0^-1 X) + (n-p)(1 + log(2 pi r2/(n-p)))
 * (equal to lme4's ldL2 + ldRX2 + ... by Sylvester's and Woodbury's
 * identities), agreeing within 1e-10 relative.
 * KIND: int    Y ~ [X +] (1 | G)           theta = (t)
 *       slope  Y ~ X + (X | G)             theta = (l11, l21, l22)
 *       diag   Y ~ X + (X || G)            theta = (t1, t2)
 * usage: test_fit_dense DATA.h5 DATA.csv FORMULA CLUSTER KIND Y G [X] */
#include <lapacke.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_util.h"

static int rank = 0, nbad = 0;

#define MAXROWS 4096
#define TEST_PI 3.14159265358979323846
#define MAXCOLS 16

/* The CSV (plain: no embedded commas), as text. */
typedef struct csv {
  int nrows, ncols;
  char *head[MAXCOLS];
  char *cell[MAXROWS][MAXCOLS];
} csv;

static char *unquote(char *s)
{
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r')) {
    s[--n] = '\0';
  }
  if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
    s[n - 1] = '\0';
    s++;
  }
  return strcpy(malloc(strlen(s) + 1), s);
}

static int split(char *line, char **out)
{
  int n = 0;
  for (char *tok = strtok(line, ","); tok && n < MAXCOLS;
       tok = strtok(NULL, ",")) {
    out[n++] = unquote(tok);
  }
  return n;
}

static void read_csv(const char *path, csv *c)
{
  char line[4096];
  FILE *f = fopen(path, "r");
  if (f == NULL || fgets(line, sizeof line, f) == NULL) {
    fprintf(stderr, "cannot read %s\n", path);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  c->ncols = split(line, c->head);
  c->nrows = 0;
  while (c->nrows < MAXROWS && fgets(line, sizeof line, f)) {
    split(line, c->cell[c->nrows++]);
  }
  fclose(f);
}

static int col(const csv *c, const char *name)
{
  for (int j = 0; j < c->ncols; j++) {
    if (!strcmp(c->head[j], name)) {
      return j;
    }
  }
  fprintf(stderr, "no column %s\n", name);
  MPI_Abort(MPI_COMM_WORLD, 2);
  return -1;
}

/* The dense problem: X (n x p), y, groups, the random covariate. */
typedef struct dense {
  int n, p, m, kind; /* kind: 0 int, 1 slope, 2 diag */
  double *X, *y, *x;
  int *g;
} dense;

static void build(const csv *c, const char *kind, const char *ycol,
                  const char *gcol, const char *xcol, dense *d)
{
  int jy = col(c, ycol), jg = col(c, gcol), jx = xcol ? col(c, xcol) : -1;
  char *labels[MAXROWS];
  d->n = c->nrows;
  d->kind = !strcmp(kind, "slope") ? 1 : !strcmp(kind, "diag") ? 2 : 0;
  d->p = xcol ? 2 : 1;
  d->X = calloc((size_t)d->n * d->p, sizeof *d->X);
  d->y = calloc((size_t)d->n, sizeof *d->y);
  d->x = calloc((size_t)d->n, sizeof *d->x);
  d->g = calloc((size_t)d->n, sizeof *d->g);
  d->m = 0;
  for (int i = 0; i < d->n; i++) {
    d->y[i] = strtod(c->cell[i][jy], NULL);
    d->x[i] = jx >= 0 ? strtod(c->cell[i][jx], NULL) : 0.0;
    d->X[i] = 1.0; /* column-major n x p */
    if (jx >= 0) {
      d->X[i + d->n] = d->x[i];
    }
    int g = 0;
    while (g < d->m && strcmp(labels[g], c->cell[i][jg])) {
      g++;
    }
    if (g == d->m) {
      labels[d->m++] = c->cell[i][jg];
    }
    d->g[i] = g;
  }
}

/* Row i of Z T: k = 1 or 2 entries, in the columns of group g[i]. */
static int zt_row(const dense *d, const double *th, int i, double *v)
{
  switch (d->kind) {
  case 1: /* [1 x] L, L = [l11 0; l21 l22] */
    v[0] = th[0] + d->x[i] * th[1];
    v[1] = d->x[i] * th[2];
    return 2;
  case 2:
    v[0] = th[0];
    v[1] = d->x[i] * th[1];
    return 2;
  default:
    v[0] = th[0];
    return 1;
  }
}

static void dense_criteria(const dense *d, const double *th, double *reml,
                           double *ml)
{
  int n = d->n, p = d->p;
  double *V = calloc((size_t)n * n, sizeof *V);
  double *Xs = malloc((size_t)n * p * sizeof *Xs);
  double *ys = malloc((size_t)n * sizeof *ys);
  double XtX[MAXCOLS * MAXCOLS] = {0}, Xty[MAXCOLS] = {0};
  double ldV = 0, ldX = 0, r2 = 0;
  for (int i = 0; i < n; i++) {
    double vi[2], vj[2];
    int k = zt_row(d, th, i, vi);
    for (int j = 0; j < n; j++) {
      zt_row(d, th, j, vj);
      double s = 0;
      for (int e = 0; e < k && d->g[i] == d->g[j]; e++) {
        s += vi[e] * vj[e];
      }
      V[i + (size_t)n * j] = s + (i == j);
    }
  }
  LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', n, V, n);
  memcpy(Xs, d->X, (size_t)n * p * sizeof *Xs);
  memcpy(ys, d->y, (size_t)n * sizeof *ys);
  LAPACKE_dtrtrs(LAPACK_COL_MAJOR, 'L', 'N', 'N', n, p, V, n, Xs, n);
  LAPACKE_dtrtrs(LAPACK_COL_MAJOR, 'L', 'N', 'N', n, 1, V, n, ys, n);
  for (int i = 0; i < n; i++) {
    ldV += 2 * log(V[i + (size_t)n * i]);
  }
  for (int a = 0; a < p; a++) {
    for (int i = 0; i < n; i++) {
      Xty[a] += Xs[i + (size_t)n * a] * ys[i];
      for (int b = 0; b < p; b++) {
        XtX[a + p * b] += Xs[i + (size_t)n * a] * Xs[i + (size_t)n * b];
      }
    }
  }
  LAPACKE_dposv(LAPACK_COL_MAJOR, 'L', p, 1, XtX, p, Xty, p);
  for (int a = 0; a < p; a++) {
    ldX += 2 * log(XtX[a + p * a]);
  }
  for (int i = 0; i < n; i++) {
    double r = ys[i];
    for (int a = 0; a < p; a++) {
      r -= Xs[i + (size_t)n * a] * Xty[a];
    }
    r2 += r * r;
  }
  *ml = ldV + n * (1 + log(2 * TEST_PI * r2 / n));
  *reml = ldV + ldX + (n - p) * (1 + log(2 * TEST_PI * r2 / (n - p)));
  free(V);
  free(Xs);
  free(ys);
}

/* Several theta values per kind, including 0 and negative off-diagonals. */
static int thetas(int kind, double th[][3])
{
  static const double one[] = {0.0, 0.05, 0.3, 0.75, 1.0, 2.5, 10.0};
  static const double two[][3] = {{1, 0, 1},      {0.5, -0.3, 0.2},
                                  {2, 0.4, 0.05}, {0, 0, 0.3},
                                  {0.9, 1.5, 0},  {0.1, -0.02, 0.7}};
  int n = 0;
  if (kind == 0) {
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
      th[n][0] = one[i];
      n++;
    }
  } else {
    for (size_t i = 0; i < sizeof two / sizeof two[0]; i++) {
      th[n][0] = two[i][0];
      th[n][1] = kind == 1 ? two[i][1] : two[i][2];
      th[n][2] = two[i][2];
      n++;
    }
  }
  return n;
}

int main(int argc, char **argv)
{
  int size = 1, total = 0;
  hlm_design *d = NULL;
  static csv c;
  dense dn = {0};
  double th[16][3];
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  hlm_error_install_handlers();
  if (argc < 8) {
    fprintf(stderr, "usage: test_fit_dense DATA.h5 DATA.csv FORMULA CLUSTER "
                    "KIND Y G [X]\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  read_csv(argv[2], &c);
  build(&c, argv[5], argv[6], argv[7], argc > 8 ? argv[8] : NULL, &dn);
  hlm_status s = fit_util_load(MPI_COMM_WORLD, argv[1], argv[3], argv[4], &d);
  nbad += s != HLM_OK;
  int nth = thetas(dn.kind, th);
  for (int t = 0; s == HLM_OK && t < nth; t++) {
    double ours[2], want[2];
    for (int reml = 1; reml >= 0; reml--) {
      if (hlm_fit_criterion_at(MPI_COMM_WORLD, d, reml, th[t],
                               &ours[1 - reml]) != HLM_OK) {
        fprintf(stderr, "rank %d: %s\n", rank, hlm_error_message());
        nbad++;
      }
    }
    dense_criteria(&dn, th[t], &want[0], &want[1]);
    for (int m = 0; m < 2 && rank == 0; m++) {
      double rel = fit_util_reldiff(ours[m], want[m]);
      printf("theta (%g, %g, %g) %s: %.15g dense %.15g rel %.2g\n", th[t][0],
             th[t][1], th[t][2], m ? "ML" : "REML", ours[m], want[m], rel);
      if (!(rel <= 1e-10)) {
        fprintf(stderr, "check failed: %s at theta %d\n", m ? "ML" : "REML", t);
        nbad++;
      }
    }
  }
  hlm_design_destroy(&d);
  free(dn.X);
  free(dn.y);
  free(dn.x);
  free(dn.g);
  for (int j = 0; j < c.ncols; j++) {
    free(c.head[j]);
  }
  for (int i = 0; i < c.nrows; i++) {
    for (int j = 0; j < c.ncols; j++) {
      free(c.cell[i][j]);
    }
  }
  MPI_Allreduce(&nbad, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("test_fit_dense %s: %d ranks, %d failed checks\n", argv[2], size,
           total);
  }
  MPI_Finalize();
  return total != 0;
}

/* MPI test of the data layer: read an HDF5 file written by h5py
 * (tests/data/csv_to_h5.py, with a `__row` column holding the CSV row),
 * drop missing values, partition by cluster, and check against the CSV
 * itself, parsed here with libcsv:
 *   - every CSV row without a missing value arrives exactly once, with the
 *     CSV's values (numbers, integers, category labels);
 *   - every cluster lives on exactly one rank, its rows contiguous and in
 *     file order; the cluster list describes them;
 *   - no rank holds more than its share plus the largest cluster;
 *   - on one rank nothing moves; with --sorted (file grouped by cluster)
 *     only rows of clusters straddling slabs move.
 * usage: test_partition FILE.h5 DATA.csv CLUSTER [--sorted] */
#include <csv.h>
#include <inttypes.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hlm/data.h"
#include "hlm/partition.h"

static int rank = 0, nbad = 0;

#define EXPECT(cond, ...)                                                      \
  do {                                                                         \
    if (!(cond)) {                                                             \
      if (nbad++ < 20) {                                                       \
        fprintf(stderr, "rank %d: check failed: %s: ", rank, #cond);           \
        fprintf(stderr, __VA_ARGS__);                                          \
        fprintf(stderr, "\n");                                                 \
      }                                                                        \
    }                                                                          \
  } while (0)

/* The CSV as text: rows x cols fields. */
typedef struct csv_text {
  char **field;
  int64_t nfields, cap;
  int ncols;
  int64_t nrows; /* including the header */
} csv_text;

static void on_field(void *s, size_t len, void *data)
{
  csv_text *c = data;
  if (c->nfields == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 256;
    c->field = realloc(c->field, (size_t)c->cap * sizeof *c->field);
  }
  c->field[c->nfields] = malloc(len + 1);
  memcpy(c->field[c->nfields], s, len);
  c->field[c->nfields++][len] = '\0';
}

static void on_row(int term, void *data)
{
  csv_text *c = data;
  (void)term;
  if (c->nrows++ == 0) {
    c->ncols = (int)c->nfields;
  }
}

static void read_csv(const char *path, csv_text *c)
{
  struct csv_parser p;
  char buf[4096];
  size_t n;
  FILE *f = fopen(path, "rb");
  if (f == NULL || csv_init(&p, CSV_APPEND_NULL) != 0) {
    fprintf(stderr, "cannot read %s\n", path);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    csv_parse(&p, buf, n, on_field, on_row, c);
  }
  csv_fini(&p, on_field, on_row, c);
  csv_free(&p);
  fclose(f);
}

static const char *cell(const csv_text *c, int64_t row, int col)
{
  return c->field[(row + 1) * c->ncols + col];
}

static int is_na(const char *s)
{
  return s[0] == '\0' || !strcmp(s, "NA");
}

/* Compare local row i of column col with CSV row `row`. */
static void check_value(const hlm_column *col, int64_t i, const char *text,
                        int64_t row)
{
  if (col->type == HLM_COL_NUMERIC) {
    EXPECT(col->num[i] == strtod(text, NULL), "%s row %" PRId64 ": %g vs %s",
           col->name, row, col->num[i], text);
  } else if (col->type == HLM_COL_INTEGER) {
    EXPECT(col->ival[i] == strtoll(text, NULL, 10),
           "%s row %" PRId64 ": %" PRId64 " vs %s", col->name, row,
           col->ival[i], text);
  } else {
    EXPECT(col->code[i] >= 0 && !strcmp(col->levels[col->code[i]], text),
           "%s row %" PRId64 ": code %d vs %s", col->name, row, col->code[i],
           text);
  }
}

static int row_has_na(const csv_text *c, int64_t row)
{
  for (int j = 0; j < c->ncols; j++) {
    if (is_na(cell(c, row, j))) {
      return 1;
    }
  }
  return 0;
}

static int csv_col(const csv_text *c, const char *name)
{
  for (int j = 0; j < c->ncols; j++) {
    if (!strcmp(c->field[j], name)) {
      return j;
    }
  }
  return -1;
}

static void check_rows(const hlm_table *t, const csv_text *c)
{
  int64_t nrows = c->nrows - 1;
  int *seen = calloc((size_t)nrows, sizeof *seen);
  const hlm_column *rowcol = hlm_table_find(t, "__row");
  EXPECT(rowcol != NULL, "no __row column");
  for (int64_t i = 0; rowcol && i < hlm_table_nrows(t); i++) {
    int64_t row = rowcol->ival[i];
    seen[row]++;
    for (int j = 0; j < hlm_table_ncols(t); j++) {
      const hlm_column *col = hlm_table_column(t, j);
      int cj = csv_col(c, col->name);
      if (cj >= 0) {
        check_value(col, i, cell(c, row, cj), row);
      }
    }
  }
  MPI_Allreduce(MPI_IN_PLACE, seen, (int)nrows, MPI_INT, MPI_SUM,
                MPI_COMM_WORLD);
  for (int64_t r = 0; r < nrows; r++) {
    EXPECT(seen[r] == !row_has_na(c, r), "CSV row %" PRId64 " seen %d times",
           r + 1, seen[r]);
  }
  free(seen);
}

static void check_clusters(const hlm_table *t, const hlm_clusters *cl,
                           const char *cluster)
{
  const hlm_column *c = hlm_table_find(t, cluster);
  const int64_t *idx = hlm_table_row_index(t);
  int *present = calloc((size_t)c->nlevels, sizeof *present);
  int64_t covered = 0;
  for (int64_t k = 0; k < cl->nlocal; k++) {
    EXPECT(cl->start[k] == covered, "cluster %" PRId64 " not contiguous", k);
    present[cl->code[k]]++;
    for (int64_t i = cl->start[k]; i < cl->start[k] + cl->count[k]; i++) {
      EXPECT(c->code[i] == cl->code[k], "row %" PRId64 " in wrong cluster", i);
      EXPECT(i == cl->start[k] || idx[i] > idx[i - 1],
             "file order broken in cluster %s", c->levels[cl->code[k]]);
    }
    covered += cl->count[k];
  }
  EXPECT(covered == hlm_table_nrows(t), "clusters cover %" PRId64 " rows",
         covered);
  MPI_Allreduce(MPI_IN_PLACE, present, c->nlevels, MPI_INT, MPI_SUM,
                MPI_COMM_WORLD);
  int64_t n = 0;
  for (int32_t k = 0; k < c->nlevels; k++) {
    EXPECT(present[k] <= 1, "cluster %s on %d ranks", c->levels[k], present[k]);
    n += present[k];
  }
  EXPECT(n == cl->nglobal, "%" PRId64 " clusters vs nglobal %" PRId64, n,
         cl->nglobal);
  free(present);
}

int main(int argc, char **argv)
{
  int size = 1, total = 0, sorted = argc > 4 && !strcmp(argv[4], "--sorted");
  hlm_table *t = NULL;
  hlm_clusters cl;
  hlm_partition_info info;
  csv_text csv = {NULL, 0, 0, 0, 0};
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  hlm_error_install_handlers();
  if (argc < 4) {
    fprintf(stderr, "usage: test_partition FILE.h5 DATA.csv CLUSTER\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  read_csv(argv[2], &csv);
  hlm_status s = hlm_table_read(MPI_COMM_WORLD, argv[1], "data", NULL, 0, &t);
  if (s == HLM_OK) {
    s = hlm_table_make_factor(MPI_COMM_WORLD, t, argv[3]);
  }
  if (s == HLM_OK) {
    s = hlm_table_drop_missing(MPI_COMM_WORLD, t, rank ? NULL : stdout, NULL);
  }
  if (s == HLM_OK) {
    s = hlm_partition_by_cluster(MPI_COMM_WORLD, &t, argv[3], &cl, &info);
  }
  EXPECT(s == HLM_OK, "%s", hlm_error_message());
  if (s == HLM_OK) {
    check_rows(t, &csv);
    check_clusters(t, &cl, argv[3]);
    EXPECT(size > 1 || !info.shuffled, "shuffled on one rank");
    EXPECT(info.rows_max <= info.nrows / size + 1 + info.largest_cluster,
           "unbalanced: %" PRId64 " rows on one rank", info.rows_max);
    EXPECT(!sorted || info.rows_moved <= info.largest_cluster * (size - 1),
           "sorted file moved %" PRId64 " rows", info.rows_moved);
    if (rank == 0) {
      hlm_partition_report(&info, size, stdout);
    }
    hlm_clusters_free(&cl);
  }
  hlm_table_destroy(&t);
  for (int64_t i = 0; i < csv.nfields; i++) {
    free(csv.field[i]);
  }
  free(csv.field);
  MPI_Allreduce(&nbad, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("test_partition %s: %d ranks, %d failed checks\n", argv[1], size,
           total);
  }
  MPI_Finalize();
  return total != 0;
}

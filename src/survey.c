/* survey.c: a [survey] design applied to the model's design (survey.h,
 * docs/survey.md): checks of the random terms and of the weights, the
 * scaling of level-1 weights, and the report of dropped clusters. */
#include "survey.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddsum.h"
#include "design_internal.h"
#include "hlm/comm.h"

enum { SCALE_SIZE = 0, SCALE_EFFECTIVE = 1, SCALE_NONE = 2 };

static const char *const scaling_name[] = {"size", "effective", "none"};

/* The [survey] columns: key name and column name (NULL: not given). */
static int survey_columns(const hlm_config *cfg, const char *key[5],
                          const char *col[5])
{
  key[4] = "fpc";
  col[4] = cfg->survey_fpc;
  key[0] = "weight1";
  col[0] = cfg->survey_weight1;
  key[1] = "weight2";
  col[1] = cfg->survey_weight2;
  key[2] = "psu";
  col[2] = cfg->survey_psu;
  key[3] = "strata";
  col[3] = cfg->survey_strata;
  return 5;
}

hlm_status hlm_survey_check_missing(const hlm_config *cfg, const hlm_table *t)
{
  hlm_status status = HLM_OK;
  const char *key[5], *col[5];
  int n = survey_columns(cfg, key, col);
  for (int k = 0; k < n; k++) {
    const hlm_column *c = col[k] ? hlm_table_find(t, col[k]) : NULL;
    for (int64_t i = 0; c && i < hlm_table_nrows(t); i++) {
      HLM_CHECK(!hlm_column_is_missing(c, i), HLM_ERR_DATA,
                "[survey] %s column '%s', row %" PRId64
                ": missing value (sampling weights, PSUs and strata must be "
                "given for every row)",
                key[k], col[k], hlm_table_row_index(t)[i] + 1);
    }
  }
cleanup:
  return status;
}

/* Local.  Every random term must be a local term of the partition factor:
 * the two levels the weights belong to. */
static hlm_status check_terms(const hlm_design *d, const char *partition)
{
  for (int r = 0; r < d->nterms; r++) {
    const hlm_reterm *rt = &d->term[r];
    if (rt->global) {
      return HLM_ERROR(HLM_ERR_CONFIG,
                       "[survey] sampling weights with the crossed random "
                       "term of `%s` are refused: its effects are shared by "
                       "many PSUs, so the PSUs' score contributions are not "
                       "independent and the design-based (sandwich) variance "
                       "does not hold",
                       rt->group);
    }
    if (strcmp(rt->group, partition) != 0) {
      return HLM_ERROR(HLM_ERR_NOT_IMPLEMENTED,
                       "[survey] a random term of `%s`, a level below the "
                       "clusters `%s`, needs weights for a deeper level: "
                       "three-stage designs are not implemented yet (issue "
                       "13); survey fits take random terms of the partition "
                       "factor `%s` only",
                       rt->group, partition, partition);
    }
  }
  if (d->nterms == 0) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "[survey] needs a random term of the clusters `%s`",
                     partition);
  }
  return HLM_OK;
}

/* Local.  A numeric weight column (or NULL when not given). */
static hlm_status weight_column(const hlm_table *t, const char *key,
                                const char *name, const hlm_column **out)
{
  hlm_status status = HLM_OK;
  *out = NULL;
  if (name == NULL) {
    return HLM_OK;
  }
  const hlm_column *c = hlm_table_find(t, name);
  HLM_CHECK(c != NULL, HLM_ERR_DATA, "the data has no [survey] %s column '%s'",
            key, name);
  HLM_CHECK(c->type != HLM_COL_CATEGORICAL, HLM_ERR_DATA,
            "the [survey] %s column '%s' is categorical, not numeric", key,
            name);
  *out = c;
cleanup:
  return status;
}

static double value(const hlm_column *c, int64_t i)
{
  if (c->type == HLM_COL_CATEGORICAL) {
    return (double)c->code[i];
  }
  return c->type == HLM_COL_NUMERIC ? c->num[i] : (double)c->ival[i];
}

/* Local.  A weight of row i: finite and not negative. */
static hlm_status check_weight(const hlm_table *t, const hlm_column *c,
                               const char *key, int64_t i, double *w)
{
  hlm_status status = HLM_OK;
  *w = value(c, i);
  HLM_CHECK(isfinite(*w) && *w >= 0, HLM_ERR_DATA,
            "[survey] %s column '%s', row %" PRId64
            ": weight %g is %s (sampling weights are finite and not "
            "negative)",
            key, c->name, hlm_table_row_index(t)[i] + 1, *w,
            isfinite(*w) ? "negative" : "not finite");
cleanup:
  return status;
}

/* Local.  Column c (weight2, psu or strata) holds one value in cluster
 * cj; *v gets it. */
static hlm_status constant_in_cluster(const hlm_table *t, const hlm_design *d,
                                      const hlm_dcluster *cj,
                                      const hlm_column *c, const char *key,
                                      double *v)
{
  hlm_status status = HLM_OK;
  char label[256];
  *v = value(c, cj->start);
  for (int64_t i = cj->start + 1; i < cj->start + cj->n; i++) {
    double x = value(c, i);
    if (x != *v && !(isnan(x) && isnan(*v))) {
      hlm_design_level_label(d, 0, cj, 0, label, sizeof label);
      const int64_t *ri = hlm_table_row_index(t);
      HLM_CHECK(0, HLM_ERR_DATA,
                "[survey] %s column '%s' varies within cluster '%s' of `%s` "
                "(rows %" PRId64 " and %" PRId64
                "); it must be constant within each cluster",
                key, c->name, label, d->term[0].group, ri[cj->start] + 1,
                ri[i] + 1);
    }
  }
cleanup:
  return status;
}

/* sqrt(scaled level-1 weight) of each row of cluster cj into d->sqrtw;
 * *sum gets the sum of the scaled weights. */
static hlm_status level1(const hlm_table *t, const hlm_column *c, int scaling,
                         hlm_design *d, const hlm_dcluster *cj, double *sum)
{
  hlm_status status = HLM_OK;
  double s1 = 0.0, s2 = 0.0, f = 1.0, w = 0.0;
  int64_t npos = 0;
  for (int64_t i = cj->start; i < cj->start + cj->n; i++) {
    HLM_TRY(check_weight(t, c, "weight1", i, &w));
    s1 += w;
    s2 += w * w;
    npos += w > 0;
  }
  if (s1 > 0 && scaling == SCALE_SIZE) {
    f = (double)npos / s1; /* sum to the rows of positive weight */
  } else if (s1 > 0 && scaling == SCALE_EFFECTIVE) {
    f = s1 / s2; /* sum to the effective size (sum w)^2 / sum w^2 */
  }
  *sum = 0.0;
  for (int64_t i = cj->start; i < cj->start + cj->n; i++) {
    w = value(c, i) * f;
    *sum += w;
    d->sqrtw[i] = sqrt(w);
  }
cleanup:
  return status;
}

static void scale_rows(hlm_design *d)
{
  for (int64_t i = 0; i < d->n; i++) {
    double s = d->sqrtw[i];
    for (int a = 0; a < d->p; a++) {
      d->X[i * d->p + a] *= s;
    }
    for (int a = 0; a < d->zwidth; a++) {
      d->zval[i * d->zwidth + a] *= s;
    }
    d->y[i] *= s;
  }
}

/* Local.  A PSU or stratum column (numeric or categorical), or NULL. */
static hlm_status key_column(const hlm_table *t, const char *key,
                             const char *name, const hlm_column **out)
{
  hlm_status status = HLM_OK;
  *out = name ? hlm_table_find(t, name) : NULL;
  HLM_CHECK(name == NULL || *out != NULL, HLM_ERR_DATA,
            "the data has no [survey] %s column '%s'", key, name);
cleanup:
  return status;
}

/* Local part of hlm_survey_apply: this rank's clusters; *wsum (dd) gets
 * sum_j w_j sum_i w_i|j and *dropped the clusters of zero weight. */
static hlm_status apply_local(const hlm_config *cfg, const hlm_table *t,
                              const char *partition, hlm_design *d,
                              hlm_survey *s, double *wsum, int64_t *dropped)
{
  hlm_status status = HLM_OK;
  const hlm_column *w1 = NULL, *w2 = NULL, *psu = NULL, *str = NULL;
  const hlm_column *fpc = NULL;
  HLM_TRY(check_terms(d, partition));
  HLM_TRY(weight_column(t, "weight1", cfg->survey_weight1, &w1));
  HLM_TRY(weight_column(t, "weight2", cfg->survey_weight2, &w2));
  HLM_TRY(key_column(t, "psu", cfg->survey_psu, &psu));
  HLM_TRY(key_column(t, "strata", cfg->survey_strata, &str));
  HLM_TRY(weight_column(t, "fpc", cfg->survey_fpc, &fpc));
  s->stratum_label = str && str->type == HLM_COL_CATEGORICAL;
  s->stratum_levels = s->stratum_label ? str->levels : NULL;
  HLM_ALLOC(d->cw, d->ncl);
  HLM_ALLOC(s->psu, d->ncl);
  HLM_ALLOC(s->stratum, d->ncl);
  HLM_ALLOC(s->fpc, d->ncl);
  if (w1) {
    HLM_ALLOC(d->sqrtw, d->n);
  }
  for (int64_t j = 0; j < d->ncl; j++) {
    const hlm_dcluster *cj = &d->cl[j];
    double sum1 = (double)cj->n, w = 1.0;
    if (w2) {
      HLM_TRY(check_weight(t, w2, "weight2", cj->start, &w));
      HLM_TRY(constant_in_cluster(t, d, cj, w2, "weight2", &w));
    }
    if (w1) {
      HLM_TRY(level1(t, w1, cfg->survey_scaling, d, cj, &sum1));
    }
    s->psu[j] = (double)cj->gindex;
    s->stratum[j] = 0.0;
    if (psu) {
      HLM_TRY(constant_in_cluster(t, d, cj, psu, "psu", &s->psu[j]));
    }
    if (str) {
      HLM_TRY(constant_in_cluster(t, d, cj, str, "strata", &s->stratum[j]));
    }
    if (fpc) {
      HLM_TRY(check_weight(t, fpc, "fpc", cj->start, &s->fpc[j]));
      HLM_TRY(constant_in_cluster(t, d, cj, fpc, "fpc", &s->fpc[j]));
    }
    d->cw[j] = sum1 > 0 ? w : 0.0;
    *dropped += d->cw[j] == 0.0;
    hlm_dd_add(wsum, d->cw[j] * sum1);
  }
  if (w1) {
    scale_rows(d);
  }
cleanup:
  return status;
}

/* Rank 0 logs the dropped clusters: how many, and the first in cluster
 * order (its owner sends the label). */
static hlm_status report_dropped(MPI_Comm comm, const hlm_design *d,
                                 const hlm_survey *s, FILE *log)
{
  hlm_status status = HLM_OK;
  int rank = 0;
  char label[256] = "";
  struct {
    double g;
    int rank;
  } first = {HUGE_VAL, 0};
  int64_t jfirst = -1;
  if (s->ndropped == 0) {
    return HLM_OK;
  }
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  first.rank = rank;
  for (int64_t j = 0; j < d->ncl && jfirst < 0; j++) {
    if (d->cw[j] == 0.0) {
      jfirst = j;
      first.g = (double)d->cl[j].gindex;
    }
  }
  HLM_MPI(
      MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_DOUBLE_INT, MPI_MINLOC, comm));
  if (rank == first.rank && jfirst >= 0) {
    hlm_design_level_label(d, 0, &d->cl[jfirst], 0, label, sizeof label);
  }
  HLM_MPI(MPI_Bcast(label, sizeof label, MPI_CHAR, first.rank, comm));
  if (log && rank == 0) {
    fprintf(log,
            "survey: %" PRId64 " cluster%s of `%s` with zero weight dropped "
            "(the first: '%s')\n",
            s->ndropped, s->ndropped == 1 ? "" : "s", d->term[0].group, label);
  }
cleanup:
  return status;
}

hlm_status hlm_survey_apply(MPI_Comm comm, const hlm_config *cfg,
                            const hlm_table *t, const char *partition,
                            hlm_design *d, FILE *log, hlm_survey **out)
{
  hlm_status status = HLM_OK;
  hlm_survey *s = NULL;
  double wsum[4] = {0.0, 0.0, 0.0, 0.0};
  int64_t counts[2] = {0, 0};
  *out = NULL;
  HLM_ALLOC(s, 1);
  s->cfg = cfg;
  s->p = d->p;
  s->ncl = d->ncl;
  status = apply_local(cfg, t, partition, d, s, wsum, &counts[1]);
  HLM_TRY(hlm_comm_agree(comm, status, "the survey design", NULL));
  counts[0] = d->ncl;
  HLM_MPI(MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_INT64_T, MPI_SUM, comm));
  for (int64_t j = 0; j < d->ncl; j++) {
    hlm_dd_add(&wsum[2], d->cw[j]);
  }
  HLM_TRY(hlm_dd_allreduce(comm, wsum, 2));
  s->nclusters = counts[0];
  s->ndropped = counts[1];
  HLM_CHECK(s->ndropped < s->nclusters, HLM_ERR_DATA,
            "[survey] every cluster has zero weight: nothing to fit");
  d->survey = 1;
  d->nw = hlm_dd_value(wsum);
  d->cwsum = hlm_dd_value(&wsum[2]);
  HLM_TRY(report_dropped(comm, d, s, log));
  *out = s;
  s = NULL;
cleanup:
  hlm_survey_destroy(&s);
  return status;
}

void hlm_survey_destroy(hlm_survey **s)
{
  if (s == NULL || *s == NULL) {
    return;
  }
  free((*s)->psu);
  free((*s)->stratum);
  free((*s)->fpc);
  free((*s)->V);
  free((*s)->Vj);
  free((*s)->vc);
  free((*s)->vcse);
  for (int i = 0; (*s)->vcname && i < (*s)->nvc; i++) {
    free((*s)->vcname[i]);
  }
  free((*s)->vcname);
  free(*s);
  *s = NULL;
}

const double *hlm_survey_vcov(const hlm_survey *s)
{
  return s->V;
}

double hlm_survey_df(const hlm_survey *s)
{
  return s->df;
}

int hlm_survey_robust(const hlm_survey *s)
{
  return s->cfg->survey_se == 0;
}

/* The variance components with their robust SEs (survey_joint.c). */
static void print_components(const hlm_survey *s, FILE *out)
{
  if (s->vcse == NULL) {
    return;
  }
  if (s->Vj == NULL) {
    fprintf(out, "  variance components: no robust SEs: %s\n",
            s->vc_note ? s->vc_note : "not computed");
    return;
  }
  fprintf(out, "  variance components, robust SEs (joint sandwich in beta, "
               "theta, sigma; delta method):\n");
  for (int e = 0; e < s->nvc; e++) {
    fprintf(out, "    %-36s %12.6g  SE %12.6g\n",
            s->vcname[e] ? s->vcname[e] : "?", s->vc[e], s->vcse[e]);
  }
}

void hlm_survey_print(const hlm_survey *s, FILE *out)
{
  const hlm_config *c = s->cfg;
  fprintf(out, "\nSurvey design (pseudo-maximum likelihood; docs/survey.md)\n");
  if (c->survey_weight1) {
    fprintf(out, "  level-1 weights: %s (scaling: %s)\n", c->survey_weight1,
            scaling_name[c->survey_scaling]);
  }
  fprintf(out, "  level-2 weights: %s\n",
          c->survey_weight2 ? c->survey_weight2 : "(none: 1)");
  fprintf(out,
          "  clusters: %" PRId64 " used, %" PRId64
          " dropped (zero weight); PSUs: %" PRId64 " (%s); strata: %" PRId64
          " (%s)\n",
          s->nclusters - s->ndropped, s->ndropped, s->npsu,
          c->survey_psu ? c->survey_psu : "the clusters", s->nstrata,
          c->survey_strata ? c->survey_strata : "none");
  fprintf(out,
          "  fixed-effect SEs: %s%s; t tests and intervals on %g design "
          "df (PSUs - strata)\n",
          hlm_survey_robust(s)
              ? "robust (sandwich of beta with theta held fixed, "
                "n_h/(n_h-1) within strata)"
              : "model-based (the pseudo-likelihood's information)",
          hlm_survey_robust(s) && c->survey_fpc
              ? ", finite population correction (1 - f_h)"
              : "",
          s->df);
  print_components(s, out);
}

/* The "variance_components" object: names, estimates, robust SEs and the
 * joint covariance in (beta, theta, sigma), or null with the reason. */
static json_t *components_json(const hlm_survey *s)
{
  json_t *o = json_object(), *n = json_array(), *e = json_array(),
         *se = json_array(), *v = json_array();
  for (int i = 0; s->vcse && i < s->nvc; i++) {
    json_array_append_new(n, json_string(s->vcname[i] ? s->vcname[i] : "?"));
    json_array_append_new(e, json_real(s->vc[i]));
    json_array_append_new(se, s->Vj ? json_real(s->vcse[i]) : json_null());
  }
  for (int i = 0; s->Vj && i < s->nj * s->nj; i++) {
    json_array_append_new(v, json_real(s->Vj[i]));
  }
  json_object_set_new(o, "scale", json_string("sd_cor"));
  json_object_set_new(o, "names", n);
  json_object_set_new(o, "estimate", e);
  json_object_set_new(o, "robust_se", se);
  json_object_set_new(o, "joint_vcov", s->Vj ? v : json_null());
  if (s->Vj == NULL) {
    json_decref(v);
  }
  json_object_set_new(o, "note",
                      s->vc_note ? json_string(s->vc_note) : json_null());
  return o;
}

hlm_status hlm_survey_write_json(const hlm_survey *s, const char *path)
{
  hlm_status status = HLM_OK;
  json_error_t err;
  const hlm_config *c = s->cfg;
  json_t *root = json_load_file(path, 0, &err), *o = json_object();
  HLM_CHECK(root != NULL && json_is_object(root) && o != NULL, HLM_ERR_IO,
            "cannot read the JSON summary %s back to add the survey design: "
            "%s",
            path, root ? "not an object" : err.text);
  json_object_set_new(o, "weight1",
                      c->survey_weight1 ? json_string(c->survey_weight1)
                                        : json_null());
  json_object_set_new(o, "weight2",
                      c->survey_weight2 ? json_string(c->survey_weight2)
                                        : json_null());
  json_object_set_new(o, "scaling",
                      json_string(scaling_name[c->survey_scaling]));
  json_object_set_new(o, "clusters", json_integer(s->nclusters - s->ndropped));
  json_object_set_new(o, "dropped_clusters", json_integer(s->ndropped));
  json_object_set_new(o, "psu", json_integer(s->npsu));
  json_object_set_new(o, "strata", json_integer(s->nstrata));
  json_object_set_new(o, "fpc", json_boolean(c->survey_fpc != NULL));
  json_object_set_new(o, "df", json_real(s->df));
  json_object_set_new(o, "se",
                      json_string(hlm_survey_robust(s) ? "robust" : "model"));
  json_t *v = json_array();
  for (int i = 0; i < s->p * s->p; i++) {
    json_array_append_new(v, json_real(s->V[i]));
  }
  json_object_set_new(o, "robust_vcov", v);
  json_object_set_new(o, "variance_components", components_json(s));
  json_object_set_new(root, "survey", o);
  o = NULL;
  HLM_CHECK(
      json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) == 0,
      HLM_ERR_IO, "cannot write the JSON summary %s", path);
cleanup:
  json_decref(o);
  json_decref(root);
  return status;
}

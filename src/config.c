/* config.c: validate a TOML document against the schema of config_schema.c
 * and fill an hlm_config. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "hlm/config.h"
#include "hlm/toml.h"

#define NONE ((size_t)-1)

typedef struct validator {
  const char *file; /* name used in messages */
  const char *dir;  /* relative paths are resolved against it ("" = cwd) */
  hlm_config *cfg;  /* FILE_CONFIG only, else NULL */
  char *base;       /* where values go: cfg, or an hlm_sim_config */
  unsigned char *given;
  hlm_file_kind kind;
} validator;

/* ---- lookups and suggestions ------------------------------------------ */

static const hlm_section_spec *find_section(const char *name)
{
  for (int i = 0; i < hlm_nsections; i++) {
    if (strcmp(hlm_sections[i].name, name) == 0) {
      return &hlm_sections[i];
    }
  }
  return NULL;
}

static int find_key(const char *section, const char *key)
{
  for (int i = 0; i < hlm_nkeys; i++) {
    if (!strcmp(hlm_keys[i].section, section) &&
        !strcmp(hlm_keys[i].key, key)) {
      return i;
    }
  }
  return -1;
}

static size_t edit_distance(const char *a, const char *b)
{
  size_t n = strlen(a), m = strlen(b), prev[64], cur[64];
  if (n >= 63 || m >= 63) {
    return 64;
  }
  for (size_t j = 0; j <= m; j++) {
    prev[j] = j;
  }
  for (size_t i = 1; i <= n; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= m; j++) {
      size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
      size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
    memcpy(prev, cur, (m + 1) * sizeof *cur);
  }
  return prev[m];
}

const char *hlm_closest_word(const char *word, const char *const *candidates,
                             int n)
{
  const char *best = NULL;
  size_t best_d = (size_t)-1, len = strlen(word);
  size_t limit = len <= 3 ? 1 : (len <= 6 ? 2 : 3);
  for (int i = 0; i < n; i++) {
    size_t d = edit_distance(word, candidates[i]);
    if (d < best_d) {
      best_d = d;
      best = candidates[i];
    }
  }
  return best_d <= limit ? best : NULL;
}

/* The keys of a section and its sub-sections, for messages. */
static int section_words(const char *section, const char **words, int max)
{
  int n = 0;
  size_t len = strlen(section);
  for (int i = 0; i < hlm_nkeys && n < max; i++) {
    if (!strcmp(hlm_keys[i].section, section)) {
      words[n++] = hlm_keys[i].key;
    }
  }
  for (int i = 0; i < hlm_nsections && n < max; i++) {
    const char *s = hlm_sections[i].name;
    if (!strncmp(s, section, len) && s[len] == '.') {
      words[n++] = s + len + 1;
    }
  }
  return n;
}

static void join_words(const char *const *words, int n, char *buf, size_t len)
{
  buf[0] = '\0';
  for (int i = 0; i < n; i++) {
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s", i ? ", " : "", words[i]);
  }
}

static hlm_status unknown_word(const validator *v, int line, int col,
                               const char *what, const char *word,
                               const char *where, const char *const *words,
                               int n)
{
  char list[1024], hint[160] = "";
  const char *close = hlm_closest_word(word, words, n);
  join_words(words, n, list, sizeof list);
  if (close) {
    snprintf(hint, sizeof hint, " (did you mean `%s`?)", close);
  }
  return HLM_ERROR(HLM_ERR_CONFIG, "%s:%d:%d: unknown %s `%s`%s%s; valid: %s",
                   v->file, line, col, what, word, where, hint, list);
}

static hlm_status planned_error(const validator *v, int line, int col,
                                const char *what, const char *planned)
{
  return HLM_ERROR(HLM_ERR_NOT_IMPLEMENTED,
                   "%s:%d:%d: %s is documented but not implemented yet (%s); "
                   "remove it to run",
                   v->file, line, col, what, planned);
}

/* ---- storing values ----------------------------------------------------- */

static hlm_status store_string(const validator *v, const hlm_key_spec *k,
                               const char *s, size_t len, int line, int col)
{
  char **dst = (char **)(v->base + k->offset);
  size_t dlen = (k->type == KEY_PATH && s[0] != '/') ? strlen(v->dir) : 0;
  if (strlen(s) != len) {
    return HLM_ERROR(HLM_ERR_CONFIG, "%s:%d:%d: `%s` contains a NUL character",
                     v->file, line, col, k->key);
  }
  if (len == 0) {
    return HLM_ERROR(HLM_ERR_CONFIG, "%s:%d:%d: `%s` must not be empty",
                     v->file, line, col, k->key);
  }
  free(*dst);
  *dst = malloc(dlen + len + 2);
  if (*dst == NULL) {
    return HLM_ERROR(HLM_ERR_NOMEM, "out of memory");
  }
  snprintf(*dst, dlen + len + 2, "%s%s%s", dlen ? v->dir : "", dlen ? "/" : "",
           s);
  return HLM_OK;
}

/* Index of `s` among the choices "a|b|c:issue N"; sets *planned to the
 * choice's "issue N" when it is not built. -1 when not a choice. */
typedef struct choice_words {
  char copy[256];    /* the choices, cut into words */
  const char *w[16]; /* the words */
  int n;
  char planned[64]; /* "issue N" of the matched choice, "" if built */
} choice_words;

static int choice_index(const char *choices, const char *s, choice_words *c)
{
  int idx = -1, n = 0;
  char *save = NULL;
  snprintf(c->copy, sizeof c->copy, "%s", choices);
  c->planned[0] = '\0';
  for (char *tok = strtok_r(c->copy, "|", &save); tok && n < 16;
       tok = strtok_r(NULL, "|", &save), n++) {
    char *colon = strchr(tok, ':');
    if (colon) {
      *colon = '\0';
    }
    c->w[n] = tok;
    if (strcmp(tok, s) == 0) {
      idx = n;
      snprintf(c->planned, sizeof c->planned, "%s", colon ? colon + 1 : "");
    }
  }
  c->n = n;
  return idx;
}

static hlm_status store_choice(const validator *v, const hlm_key_spec *k,
                               const char *s, int line, int col)
{
  choice_words c;
  char what[128];
  int idx = choice_index(k->choices, s, &c);
  snprintf(what, sizeof what, "value of `%s`", k->key);
  if (idx < 0) {
    return unknown_word(v, line, col, what, s, "", c.w, c.n);
  }
  if (c.planned[0]) {
    snprintf(what, sizeof what, "%s = \"%s\"", k->key, s);
    return planned_error(v, line, col, what, c.planned);
  }
  *(int *)(v->base + k->offset) = idx;
  return HLM_OK;
}

static hlm_status check_range(const validator *v, const hlm_key_spec *k,
                              double x, int line, int col)
{
  if (k->type == KEY_FLOAT && !(x > 0 && x < 1e300)) {
    return HLM_ERROR(HLM_ERR_CONFIG, "%s:%d:%d: `%s` must be positive, got %g",
                     v->file, line, col, k->key, x);
  }
  if (!strcmp(k->key, "confidence_level") && !(x < 1)) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "%s:%d:%d: `%s` must be between 0 and 1, got %g", v->file,
                     line, col, k->key, x);
  }
  if (!strcmp(k->key, "watchdog_seconds") && !(x >= 0 && x < 1e9)) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "%s:%d:%d: `%s` must be 0 (no watchdog) or a positive "
                     "number of seconds, got %g",
                     v->file, line, col, k->key, x);
  }
  /* scalapack_threshold = 0 distributes every global system (issue 15) */
  if (k->type == KEY_INT && x < (strcmp(k->key, "scalapack_threshold") != 0)) {
    return HLM_ERROR(HLM_ERR_CONFIG, "%s:%d:%d: `%s` must be at least %d",
                     v->file, line, col, k->key,
                     strcmp(k->key, "scalapack_threshold") != 0);
  }
  return HLM_OK;
}

static hlm_status store_value(const validator *v, const hlm_key_spec *k,
                              const hlm_toml_value *val)
{
  hlm_status status = HLM_OK;
  int line = hlm_toml_value_line(val), col = hlm_toml_value_column(val);
  char *dst = v->base + k->offset;
  const char *s = NULL;
  bool b = false;
  size_t len = 0;
  switch (k->type) {
  case KEY_STRING:
  case KEY_PATH:
    HLM_TRY(hlm_toml_get_string(val, &s, &len));
    HLM_TRY(store_string(v, k, s, len, line, col));
    break;
  case KEY_CHOICE:
    HLM_TRY(hlm_toml_get_string(val, &s, &len));
    HLM_TRY(store_choice(v, k, s, line, col));
    break;
  case KEY_INT:
    HLM_TRY(hlm_toml_get_integer(val, (int64_t *)dst));
    HLM_TRY(check_range(v, k, (double)*(int64_t *)dst, line, col));
    break;
  case KEY_FLOAT:
    HLM_TRY(hlm_toml_get_number(val, (double *)dst));
    HLM_TRY(check_range(v, k, *(double *)dst, line, col));
    break;
  case KEY_REAL:
    HLM_TRY(hlm_toml_get_number(val, (double *)dst));
    HLM_TRY(check_range(v, k, *(double *)dst, line, col));
    break;
  case KEY_BOOL:
    HLM_TRY(hlm_toml_get_boolean(val, &b));
    *(int *)dst = b;
    break;
  case KEY_NUMBER_TABLE:
    status =
        hlm_config_read_numtab(v->file, k->key, val, (hlm_config_numtab *)dst);
    break;
  case KEY_MATRIX:
    status =
        hlm_config_read_matrix(v->file, k->key, val, (hlm_config_matrix *)dst);
    break;
  case KEY_SCALE_MATRIX:
    status = hlm_config_read_scale_matrix(v->file, k->key, val,
                                          (hlm_config_matrix *)dst);
    break;
  }
cleanup:
  return status;
}

/* ---- walking the document ----------------------------------------------- */

static hlm_status walk_section(validator *v, const hlm_section_spec *sec,
                               const hlm_toml_value *table);

static hlm_status walk_subsection(validator *v, const char *parent,
                                  const char *key, const hlm_toml_value *val,
                                  int *handled)
{
  char name[128];
  snprintf(name, sizeof name, "%s.%s", parent, key);
  const hlm_section_spec *sub = find_section(name);
  *handled = sub != NULL;
  if (sub == NULL) {
    return HLM_OK;
  }
  if (hlm_toml_value_type(val) != HLM_TOML_TABLE) {
    return HLM_ERROR(HLM_ERR_CONFIG, "%s:%d:%d: [%s] must be a table", v->file,
                     hlm_toml_value_line(val), hlm_toml_value_column(val),
                     name);
  }
  return walk_section(v, sub, val);
}

static hlm_status walk_key(validator *v, const hlm_section_spec *sec,
                           const hlm_toml_value *table, size_t i)
{
  hlm_status status = HLM_OK;
  const char *key = hlm_toml_table_key(table, i, NULL);
  const hlm_toml_value *val = hlm_toml_table_value(table, i);
  int line = hlm_toml_table_key_line(table, i);
  int col = hlm_toml_table_key_column(table, i), handled = 0;
  int k = find_key(sec->name, key);
  char what[160];
  if (k < 0) {
    HLM_TRY(walk_subsection(v, sec->name, key, val, &handled));
    if (!handled) {
      const char *words[64];
      int n = section_words(sec->name, words, 64);
      snprintf(what, sizeof what, " in [%s]", sec->name);
      return unknown_word(v, line, col, "key", key, what, words, n);
    }
    return HLM_OK;
  }
  if (hlm_keys[k].planned) {
    snprintf(what, sizeof what, "`%s` in [%s] (%s)", key, sec->name,
             hlm_keys[k].doc);
    return planned_error(v, line, col, what, hlm_keys[k].planned);
  }
  HLM_TRY(store_value(v, &hlm_keys[k], val));
  v->given[k] = 1;
  if (v->cfg != NULL && k == find_key("model", "formula")) {
    v->cfg->formula_line = hlm_toml_value_line(val);
    v->cfg->formula_column = hlm_toml_value_column(val);
  }
cleanup:
  return status;
}

static hlm_status walk_section(validator *v, const hlm_section_spec *sec,
                               const hlm_toml_value *table)
{
  hlm_status status = HLM_OK;
  for (size_t i = 0; i < hlm_toml_table_count(table); i++) {
    HLM_TRY(walk_key(v, sec, table, i));
  }
cleanup:
  return status;
}

static hlm_status walk_top(validator *v, const hlm_toml_value *root, size_t i)
{
  const char *name = hlm_toml_table_key(root, i, NULL);
  const hlm_toml_value *val = hlm_toml_table_value(root, i);
  int line = hlm_toml_table_key_line(root, i);
  int col = hlm_toml_table_key_column(root, i);
  const hlm_section_spec *sec = find_section(name);
  char what[160];
  if (sec != NULL && sec->kind != v->kind && !strchr(name, '.')) {
    return HLM_ERROR(HLM_ERR_CONFIG, "%s:%d:%d: [%s] belongs in %s, not here",
                     v->file, line, col, name,
                     sec->kind == FILE_SIMULATE
                         ? "the file of `hlm-mpi simulate SIM.toml OUT.h5`"
                         : "a fit's config.toml");
  }
  if (sec == NULL || strchr(name, '.')) {
    const char *words[32];
    int n = 0;
    for (int s = 0; s < hlm_nsections && n < 32; s++) {
      if (!strchr(hlm_sections[s].name, '.') &&
          hlm_sections[s].kind == v->kind) {
        words[n++] = hlm_sections[s].name;
      }
    }
    return unknown_word(v, line, col, "section", name, "", words, n);
  }
  if (sec->planned) {
    snprintf(what, sizeof what, "[%s%s%s] (%s)", sec->array ? "[" : "", name,
             sec->array ? "]" : "", sec->doc);
    return planned_error(v, line, col, what, sec->planned);
  }
  if (sec->array && strcmp(name, "contrast") == 0) {
    return hlm_config_read_contrasts(v->cfg, v->file, val, line, col);
  }
  if (sec->array && strcmp(name, "lrt") == 0) {
    return hlm_config_read_lrts(v->cfg, v->file, val, line, col);
  }
  if (hlm_toml_value_type(val) != HLM_TOML_TABLE) {
    return HLM_ERROR(HLM_ERR_CONFIG,
                     "%s:%d:%d: `%s` must be a table, written [%s], not a %s",
                     v->file, line, col, name, name,
                     hlm_toml_type_name(hlm_toml_value_type(val)));
  }
  return walk_section(v, sec, val);
}

/* ---- defaults, required keys, the whole load ------------------------------
 */

static hlm_status set_defaults(validator *v)
{
  hlm_status status = HLM_OK;
  for (int k = 0; k < hlm_nkeys; k++) {
    const hlm_key_spec *spec = &hlm_keys[k];
    char *dst = v->base + spec->offset;
    if (spec->offset == NONE || spec->def == NULL || spec->planned ||
        hlm_config_key_kind(k) != v->kind) {
      continue;
    }
    if (spec->type == KEY_STRING) {
      *(char **)dst = strdup(spec->def);
      HLM_CHECK(*(char **)dst != NULL, HLM_ERR_NOMEM, "out of memory");
    } else if (spec->type == KEY_CHOICE) {
      choice_words c;
      *(int *)dst = choice_index(spec->choices, spec->def, &c);
    } else if (spec->type == KEY_INT) {
      *(int64_t *)dst = strtoll(spec->def, NULL, 10);
    } else if (spec->type == KEY_FLOAT || spec->type == KEY_REAL) {
      *(double *)dst = strtod(spec->def, NULL);
    } else if (spec->type == KEY_BOOL) {
      *(int *)dst = strcmp(spec->def, "true") == 0;
    } else if (spec->type == KEY_SCALE_MATRIX) {
      HLM_TRY(hlm_config_scale_matrix_number((hlm_config_matrix *)dst,
                                             strtod(spec->def, NULL)));
    }
  }
cleanup:
  return status;
}

static hlm_status require(const validator *v, const char *section,
                          const char *key, const char *example)
{
  int k = find_key(section, key);
  if (v->given[k]) {
    return HLM_OK;
  }
  return HLM_ERROR(HLM_ERR_CONFIG,
                   "%s: [%s] %s is required, e.g.\n  [%s]\n  %s", v->file,
                   section, key, section, example);
}

static hlm_status validate(validator *v, const hlm_toml_doc *doc)
{
  hlm_status status = HLM_OK;
  const hlm_toml_value *root = hlm_toml_root(doc);
  HLM_TRY(set_defaults(v));
  for (size_t i = 0; i < hlm_toml_table_count(root); i++) {
    HLM_TRY(walk_top(v, root, i));
  }
  if (v->kind == FILE_SIMULATE) {
    HLM_TRY(require(v, "simulate", "rows", "rows = 100000"));
    HLM_TRY(require(v, "simulate", "clusters", "clusters = 1000"));
    goto cleanup;
  }
  HLM_TRY(require(v, "data", "file", "file = \"survey.h5\""));
  HLM_TRY(require(v, "model", "formula",
                  "formula = \"score ~ ses + (1 | school)\""));
  if (v->cfg && v->cfg->results_fitted && v->cfg->results == NULL) {
    status = HLM_ERROR(HLM_ERR_CONFIG,
                       "%s: [output] fitted = true needs [output] results, "
                       "the HDF5 file the fitted values go to",
                       v->file);
  }
  if (v->cfg && v->cfg->profile && v->cfg->known_sd != NULL) {
    status = HLM_ERROR(HLM_ERR_NOT_IMPLEMENTED,
                       "%s: [inference] profile with known residual SDs "
                       "([data] known_sd) is not implemented yet (issue 9)",
                       v->file);
  }
  if (status == HLM_OK && v->cfg) {
    status = hlm_config_check_survey(v->file, v->cfg); /* issue 13 */
  }
cleanup:
  return status;
}

static char *dir_of(const char *path)
{
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    return strdup("");
  }
  if (slash == path) {
    return strdup("/");
  }
  return strndup(path, (size_t)(slash - path));
}

static hlm_status load_doc(const hlm_toml_doc *doc, const char *name,
                           const char *dir, hlm_config **out)
{
  hlm_status status = HLM_OK;
  hlm_config *cfg = NULL;
  validator v = {name, dir ? dir : "", NULL, NULL, NULL, FILE_CONFIG};
  HLM_ALLOC(cfg, 1);
  HLM_ALLOC(cfg->given, hlm_nkeys);
  cfg->path = strdup(name);
  HLM_CHECK(cfg->path != NULL, HLM_ERR_NOMEM, "out of memory");
  v.cfg = cfg;
  v.base = (char *)cfg;
  v.given = cfg->given;
  HLM_TRY(validate(&v, doc));
  *out = cfg;
  cfg = NULL;
cleanup:
  hlm_config_destroy(&cfg);
  return status;
}

hlm_status hlm_config_validate_doc(const hlm_toml_doc *doc, const char *name,
                                   const char *dir, hlm_file_kind kind,
                                   void *base, unsigned char *given)
{
  validator v = {name, dir ? dir : "", NULL, base, given, kind};
  return validate(&v, doc);
}

hlm_file_kind hlm_config_key_kind(int k)
{
  const hlm_section_spec *sec = find_section(hlm_keys[k].section);
  return sec ? sec->kind : FILE_CONFIG;
}

hlm_status hlm_config_load_string(const char *text, const char *name,
                                  const char *dir, hlm_config **out)
{
  hlm_status status = HLM_OK;
  hlm_toml_doc *doc = NULL;
  *out = NULL;
  HLM_TRY(hlm_toml_parse_string(text, strlen(text), name, &doc));
  HLM_TRY(load_doc(doc, name, dir, out));
cleanup:
  hlm_toml_doc_destroy(&doc);
  return status;
}

hlm_status hlm_config_load(const char *path, hlm_config **out)
{
  hlm_status status = HLM_OK;
  hlm_toml_doc *doc = NULL;
  char *dir = dir_of(path);
  *out = NULL;
  HLM_CHECK(dir != NULL, HLM_ERR_NOMEM, "out of memory");
  HLM_TRY(hlm_toml_parse_file(path, &doc));
  HLM_TRY(load_doc(doc, path, dir, out));
cleanup:
  hlm_toml_doc_destroy(&doc);
  free(dir);
  return status;
}

void hlm_config_destroy(hlm_config **cfg)
{
  if (cfg == NULL || *cfg == NULL) {
    return;
  }
  for (int k = 0; k < hlm_nkeys; k++) {
    const hlm_key_spec *spec = &hlm_keys[k];
    if (spec->offset != NONE && hlm_config_key_kind(k) == FILE_CONFIG &&
        (spec->type == KEY_STRING || spec->type == KEY_PATH)) {
      free(*(char **)((char *)*cfg + spec->offset));
    }
    if (spec->offset != NONE && hlm_config_key_kind(k) == FILE_CONFIG &&
        spec->type == KEY_NUMBER_TABLE) {
      hlm_config_free_numtab(
          (hlm_config_numtab *)((char *)*cfg + spec->offset));
    }
    if (spec->offset != NONE && hlm_config_key_kind(k) == FILE_CONFIG &&
        (spec->type == KEY_MATRIX || spec->type == KEY_SCALE_MATRIX)) {
      hlm_config_free_matrix(
          (hlm_config_matrix *)((char *)*cfg + spec->offset));
    }
  }
  hlm_config_free_contrasts(*cfg);
  hlm_config_free_lrts(*cfg);
  free((*cfg)->path);
  free((*cfg)->given);
  free(*cfg);
  *cfg = NULL;
}

/* ---- printing and the schema for docs -------------------------------------
 */

static void print_value(const hlm_config *cfg, const hlm_key_spec *k, FILE *out)
{
  const char *dst = (const char *)cfg + k->offset;
  choice_words c;
  switch (k->type) {
  case KEY_STRING:
  case KEY_PATH:
    fprintf(out, "\"%s\"", *(char *const *)dst ? *(char *const *)dst : "");
    break;
  case KEY_CHOICE:
    choice_index(k->choices, "", &c);
    fprintf(out, "\"%s\"", c.w[*(const int *)dst]);
    break;
  case KEY_INT:
    fprintf(out, "%" PRId64, *(const int64_t *)dst);
    break;
  case KEY_FLOAT:
  case KEY_REAL:
    fprintf(out, "%g", *(const double *)dst);
    break;
  case KEY_BOOL:
    fprintf(out, "%s", *(const int *)dst ? "true" : "false");
    break;
  case KEY_NUMBER_TABLE: {
    const hlm_config_numtab *t = (const hlm_config_numtab *)dst;
    fprintf(out, "{");
    for (int i = 0; i < t->n; i++) {
      fprintf(out, "%s %s = %g", i ? "," : "", t->name[i], t->value[i]);
    }
    fprintf(out, " }");
    break;
  }
  case KEY_MATRIX:
  case KEY_SCALE_MATRIX: {
    const hlm_config_matrix *t = (const hlm_config_matrix *)dst;
    if (t->number) {
      fprintf(out, "%g", t->value[0]);
      break;
    }
    for (int i = 0, at = 0; i < t->nrow; at += t->ncol[i++]) {
      fprintf(out, "%s", i ? ", [" : "[[");
      for (int j = 0; j < t->ncol[i]; j++) {
        fprintf(out, "%s%g", j ? ", " : "", t->value[at + j]);
      }
      fprintf(out, "]");
    }
    fprintf(out, "]");
    break;
  }
  default:
    fprintf(out, "?");
  }
}

void hlm_config_print(const hlm_config *cfg, FILE *out)
{
  fprintf(out, "settings from %s (* = default):\n", cfg->path);
  for (int k = 0; k < hlm_nkeys; k++) {
    const hlm_key_spec *spec = &hlm_keys[k];
    int is_set = cfg->given[k] || spec->def != NULL;
    int bayes_key = strncmp(spec->section, "bayes", 5) == 0;
    if (spec->planned || spec->offset == NONE || !is_set ||
        hlm_config_key_kind(k) != FILE_CONFIG ||
        (bayes_key && cfg->method != HLM_METHOD_BAYES)) {
      continue;
    }
    fprintf(out, "  %s.%s = ", spec->section, spec->key);
    print_value(cfg, spec, out);
    fprintf(out, "%s\n", cfg->given[k] ? "" : " *");
  }
}

int hlm_config_schema_count(void)
{
  return hlm_nkeys;
}

static const char *type_name(hlm_key_type t)
{
  static const char *const names[] = {"string",
                                      "path",
                                      "choice",
                                      "integer",
                                      "number",
                                      "boolean",
                                      "table of numbers",
                                      "number",
                                      "array of arrays of numbers",
                                      "number or array of arrays of numbers"};
  return names[t];
}

void hlm_config_schema_key(int i, const char **name, const char **type,
                           const char **def, const char **planned)
{
  static char buf[128];
  snprintf(buf, sizeof buf, "%s.%s", hlm_keys[i].section, hlm_keys[i].key);
  *name = buf;
  *type = type_name(hlm_keys[i].type);
  *def = hlm_keys[i].def ? hlm_keys[i].def : "";
  *planned = hlm_keys[i].planned;
}

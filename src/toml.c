/* toml.c: the TOML document tree, its construction helpers and the public
 * accessors (hlm/toml.h).  Local. */
#include "toml_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TABLE_INDEX_MIN = 8 }; /* tables this large get a hash index */

/* ---- construction ---- */

static char *dup_bytes(const char *s, size_t n)
{
  char *d = malloc(n + 1);
  if (d != NULL) {
    if (n > 0) {
      memcpy(d, s, n);
    }
    d[n] = '\0';
  }
  return d;
}

hlm_status toml_value_new(hlm_toml_type type, const char *file, int line,
                          int column, int depth, hlm_toml_value **out)
{
  hlm_status status = HLM_OK;
  hlm_toml_value *v = NULL;
  *out = NULL;
  HLM_ALLOC(v, 1);
  v->type = type;
  v->file = file;
  v->line = line;
  v->column = column;
  v->depth = depth;
  *out = v;
cleanup:
  return status;
}

static void free_table(hlm_toml_value *t)
{
  for (size_t i = 0; i < t->u.t.count; i++) {
    free(t->u.t.entries[i].key);
    toml_value_free(t->u.t.entries[i].value);
  }
  free(t->u.t.entries);
  free(t->u.t.index);
}

/* Recursion depth is bounded by HLM_TOML_MAX_DEPTH. */
void toml_value_free(hlm_toml_value *value)
{
  if (value == NULL) {
    return;
  }
  switch (value->type) {
  case HLM_TOML_STRING:
    free(value->u.s.ptr);
    break;
  case HLM_TOML_TABLE:
    free_table(value);
    break;
  case HLM_TOML_ARRAY:
    for (size_t i = 0; i < value->u.a.count; i++) {
      toml_value_free(value->u.a.items[i]);
    }
    free(value->u.a.items);
    break;
  default:
    break;
  }
  free(value);
}

/* FNV-1a */
static size_t hash_key(const char *key, size_t len)
{
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)key[i];
    h *= 1099511628211ull;
  }
  return (size_t)(h ^ (h >> 32));
}

static void index_insert(hlm_toml_value *t, size_t entry)
{
  size_t mask = t->u.t.index_cap - 1;
  const toml_entry *e = &t->u.t.entries[entry];
  size_t slot = hash_key(e->key, e->keylen) & mask;
  while (t->u.t.index[slot] != 0) {
    slot = (slot + 1) & mask;
  }
  t->u.t.index[slot] = entry + 1;
}

/* Keep the index at most half full. */
static hlm_status index_reserve(hlm_toml_value *t, size_t count)
{
  hlm_status status = HLM_OK;
  size_t *index = NULL;
  size_t cap = t->u.t.index_cap ? t->u.t.index_cap : 32;
  if (count < TABLE_INDEX_MIN || 2 * count <= t->u.t.index_cap) {
    goto cleanup;
  }
  while (cap < 2 * count) {
    cap *= 2;
  }
  HLM_ALLOC(index, cap);
  free(t->u.t.index);
  t->u.t.index = index;
  t->u.t.index_cap = cap;
  index = NULL;
  for (size_t i = 0; i + 1 < count; i++) {
    index_insert(t, i);
  }
cleanup:
  free(index);
  return status;
}

toml_entry *toml_table_find(const hlm_toml_value *table, const char *key,
                            size_t len)
{
  if (table->u.t.index != NULL) {
    size_t mask = table->u.t.index_cap - 1;
    size_t slot = hash_key(key, len) & mask;
    while (table->u.t.index[slot] != 0) {
      toml_entry *e = &table->u.t.entries[table->u.t.index[slot] - 1];
      if (e->keylen == len && memcmp(e->key, key, len) == 0) {
        return e;
      }
      slot = (slot + 1) & mask;
    }
    return NULL;
  }
  for (size_t i = 0; i < table->u.t.count; i++) {
    toml_entry *e = &table->u.t.entries[i];
    if (e->keylen == len && memcmp(e->key, key, len) == 0) {
      return e;
    }
  }
  return NULL;
}

hlm_status toml_table_add(hlm_toml_value *table, const char *key, size_t len,
                          int line, int column, hlm_toml_value *value)
{
  hlm_status status = HLM_OK;
  char *copy = NULL;
  if (table->u.t.count == table->u.t.cap) {
    size_t cap = table->u.t.cap ? 2 * table->u.t.cap : 4;
    toml_entry *grown = realloc(table->u.t.entries, cap * sizeof *grown);
    HLM_CHECK(grown != NULL, HLM_ERR_NOMEM,
              "out of memory growing a table to %zu entries", cap);
    table->u.t.entries = grown;
    table->u.t.cap = cap;
  }
  copy = dup_bytes(key, len);
  HLM_CHECK(copy != NULL, HLM_ERR_NOMEM, "out of memory copying a key");
  HLM_TRY(index_reserve(table, table->u.t.count + 1));
  table->u.t.entries[table->u.t.count] =
      (toml_entry){copy, len, line, column, value};
  copy = NULL;
  table->u.t.count++;
  if (table->u.t.index != NULL) {
    index_insert(table, table->u.t.count - 1);
  }
cleanup:
  free(copy);
  return status;
}

hlm_status toml_array_push(hlm_toml_value *array, hlm_toml_value *value)
{
  hlm_status status = HLM_OK;
  if (array->u.a.count == array->u.a.cap) {
    size_t cap = array->u.a.cap ? 2 * array->u.a.cap : 4;
    hlm_toml_value **grown = realloc(array->u.a.items, cap * sizeof *grown);
    HLM_CHECK(grown != NULL, HLM_ERR_NOMEM,
              "out of memory growing an array to %zu items", cap);
    array->u.a.items = grown;
    array->u.a.cap = cap;
  }
  array->u.a.items[array->u.a.count++] = value;
cleanup:
  return status;
}

/* ---- documents ---- */

hlm_status hlm_toml_parse_string(const char *text, size_t len,
                                 const char *name_for_messages,
                                 hlm_toml_doc **out)
{
  hlm_status status = HLM_OK;
  hlm_toml_doc *doc = NULL;
  const char *name = name_for_messages ? name_for_messages : "<string>";
  toml_parser p;
  HLM_CHECK(out != NULL, HLM_ERR_INVALID_ARG,
            "hlm_toml_parse_string: out is NULL");
  *out = NULL;
  HLM_CHECK(text != NULL || len == 0, HLM_ERR_INVALID_ARG,
            "hlm_toml_parse_string: text is NULL");
  HLM_ALLOC(doc, 1);
  doc->name = dup_bytes(name, strlen(name));
  HLM_CHECK(doc->name != NULL, HLM_ERR_NOMEM, "out of memory copying a name");
  HLM_TRY(toml_value_new(HLM_TOML_TABLE, doc->name, 1, 1, 0, &doc->root));
  doc->root->flags = TOML_F_EXPLICIT;
  toml_parser_init(&p, text ? text : "", len, doc->name);
  HLM_TRY(toml_parse_document(&p, doc->root));
  *out = doc;
  doc = NULL;
cleanup:
  hlm_toml_doc_destroy(&doc);
  return status;
}

static hlm_status read_stream(FILE *f, const char *path, char **out,
                              size_t *len)
{
  hlm_status status = HLM_OK;
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      char *grown;
      cap = cap ? 2 * cap : 65536;
      grown = realloc(buf, cap);
      HLM_CHECK(grown != NULL, HLM_ERR_NOMEM,
                "out of memory reading %s (%zu bytes)", path, cap);
      buf = grown;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) {
      break;
    }
  }
  HLM_CHECK(!ferror(f), HLM_ERR_IO, "%s: read error", path);
  *out = buf;
  *len = n;
  buf = NULL;
cleanup:
  free(buf);
  return status;
}

hlm_status hlm_toml_parse_file(const char *path, hlm_toml_doc **out)
{
  hlm_status status = HLM_OK;
  FILE *f = NULL;
  char *text = NULL;
  size_t len = 0;
  HLM_CHECK(out != NULL, HLM_ERR_INVALID_ARG,
            "hlm_toml_parse_file: out is NULL");
  *out = NULL;
  HLM_CHECK(path != NULL, HLM_ERR_INVALID_ARG,
            "hlm_toml_parse_file: path is NULL");
  errno = 0;
  f = fopen(path, "rb");
  HLM_CHECK(f != NULL, HLM_ERR_IO, "cannot open %s: %s", path,
            errno ? strerror(errno) : "unknown error");
  HLM_TRY(read_stream(f, path, &text, &len));
  HLM_TRY(hlm_toml_parse_string(text, len, path, out));
cleanup:
  if (f != NULL) {
    fclose(f);
  }
  free(text);
  return status;
}

void hlm_toml_doc_destroy(hlm_toml_doc **doc)
{
  if (doc == NULL || *doc == NULL) {
    return;
  }
  toml_value_free((*doc)->root);
  free((*doc)->name);
  free(*doc);
  *doc = NULL;
}

const hlm_toml_value *hlm_toml_root(const hlm_toml_doc *doc)
{
  return doc ? doc->root : NULL;
}

const char *hlm_toml_doc_name(const hlm_toml_doc *doc)
{
  return doc ? doc->name : NULL;
}

/* ---- values ---- */

hlm_toml_type hlm_toml_value_type(const hlm_toml_value *value)
{
  return value ? value->type : (hlm_toml_type)0;
}

const char *hlm_toml_type_name(hlm_toml_type type)
{
  switch (type) {
  case HLM_TOML_TABLE:
    return "table";
  case HLM_TOML_ARRAY:
    return "array";
  case HLM_TOML_STRING:
    return "string";
  case HLM_TOML_INTEGER:
    return "integer";
  case HLM_TOML_FLOAT:
    return "float";
  case HLM_TOML_BOOLEAN:
    return "boolean";
  case HLM_TOML_OFFSET_DATETIME:
    return "offset date-time";
  case HLM_TOML_LOCAL_DATETIME:
    return "local date-time";
  case HLM_TOML_LOCAL_DATE:
    return "local date";
  case HLM_TOML_LOCAL_TIME:
    return "local time";
  }
  return "unknown type";
}

const char *toml_type_article(hlm_toml_type type)
{
  switch (type) {
  case HLM_TOML_ARRAY:
  case HLM_TOML_INTEGER:
  case HLM_TOML_OFFSET_DATETIME:
    return "an";
  default:
    return "a";
  }
}

int hlm_toml_value_line(const hlm_toml_value *value)
{
  return value ? value->line : 0;
}

int hlm_toml_value_column(const hlm_toml_value *value)
{
  return value ? value->column : 0;
}

const char *hlm_toml_value_file(const hlm_toml_value *value)
{
  return value ? value->file : NULL;
}

/* ---- typed getters ---- */

static hlm_status mismatch(const hlm_toml_value *v, const char *expected)
{
  return HLM_ERROR(HLM_ERR_CONFIG, "%s:%d:%d: expected %s, found %s %s",
                   v->file, v->line, v->column, expected,
                   toml_type_article(v->type), hlm_toml_type_name(v->type));
}

#define GETTER_ARGS_CHECK(v, out)                                              \
  HLM_CHECK((v) != NULL && (out) != NULL, HLM_ERR_INVALID_ARG,                 \
            "%s: NULL value or output pointer", __func__)

hlm_status hlm_toml_get_string(const hlm_toml_value *value, const char **out,
                               size_t *len)
{
  hlm_status status = HLM_OK;
  GETTER_ARGS_CHECK(value, out);
  if (value->type != HLM_TOML_STRING) {
    status = mismatch(value, "a string");
    goto cleanup;
  }
  *out = value->u.s.ptr;
  if (len != NULL) {
    *len = value->u.s.len;
  }
cleanup:
  return status;
}

hlm_status hlm_toml_get_integer(const hlm_toml_value *value, int64_t *out)
{
  hlm_status status = HLM_OK;
  GETTER_ARGS_CHECK(value, out);
  if (value->type != HLM_TOML_INTEGER) {
    status = mismatch(value, "an integer");
    goto cleanup;
  }
  *out = value->u.i;
cleanup:
  return status;
}

hlm_status hlm_toml_get_float(const hlm_toml_value *value, double *out)
{
  hlm_status status = HLM_OK;
  GETTER_ARGS_CHECK(value, out);
  if (value->type != HLM_TOML_FLOAT) {
    status = mismatch(value, "a float");
    goto cleanup;
  }
  *out = value->u.f;
cleanup:
  return status;
}

hlm_status hlm_toml_get_number(const hlm_toml_value *value, double *out)
{
  hlm_status status = HLM_OK;
  const int64_t exact = (int64_t)1 << 53;
  GETTER_ARGS_CHECK(value, out);
  if (value->type == HLM_TOML_FLOAT) {
    *out = value->u.f;
  } else if (value->type == HLM_TOML_INTEGER) {
    HLM_CHECK(value->u.i >= -exact && value->u.i <= exact, HLM_ERR_CONFIG,
              "%s:%d:%d: integer %lld is too large to be used as a "
              "floating-point number exactly (limit 2^53)",
              value->file, value->line, value->column, (long long)value->u.i);
    *out = (double)value->u.i;
  } else {
    status = mismatch(value, "a number");
  }
cleanup:
  return status;
}

hlm_status hlm_toml_get_boolean(const hlm_toml_value *value, bool *out)
{
  hlm_status status = HLM_OK;
  GETTER_ARGS_CHECK(value, out);
  if (value->type != HLM_TOML_BOOLEAN) {
    status = mismatch(value, "a boolean");
    goto cleanup;
  }
  *out = value->u.b;
cleanup:
  return status;
}

hlm_status hlm_toml_get_datetime(const hlm_toml_value *value,
                                 hlm_toml_datetime *out)
{
  hlm_status status = HLM_OK;
  GETTER_ARGS_CHECK(value, out);
  switch (value->type) {
  case HLM_TOML_OFFSET_DATETIME:
  case HLM_TOML_LOCAL_DATETIME:
  case HLM_TOML_LOCAL_DATE:
  case HLM_TOML_LOCAL_TIME:
    *out = value->u.dt;
    break;
  default:
    status = mismatch(value, "a date or time");
  }
cleanup:
  return status;
}

/* ---- tables ---- */

static const toml_entry *entry_at(const hlm_toml_value *table, size_t index)
{
  if (table == NULL || table->type != HLM_TOML_TABLE ||
      index >= table->u.t.count) {
    return NULL;
  }
  return &table->u.t.entries[index];
}

size_t hlm_toml_table_count(const hlm_toml_value *table)
{
  return table && table->type == HLM_TOML_TABLE ? table->u.t.count : 0;
}

const char *hlm_toml_table_key(const hlm_toml_value *table, size_t index,
                               size_t *len)
{
  const toml_entry *e = entry_at(table, index);
  if (len != NULL) {
    *len = e ? e->keylen : 0;
  }
  return e ? e->key : NULL;
}

const hlm_toml_value *hlm_toml_table_value(const hlm_toml_value *table,
                                           size_t index)
{
  const toml_entry *e = entry_at(table, index);
  return e ? e->value : NULL;
}

int hlm_toml_table_key_line(const hlm_toml_value *table, size_t index)
{
  const toml_entry *e = entry_at(table, index);
  return e ? e->line : 0;
}

int hlm_toml_table_key_column(const hlm_toml_value *table, size_t index)
{
  const toml_entry *e = entry_at(table, index);
  return e ? e->column : 0;
}

const hlm_toml_value *hlm_toml_table_get_n(const hlm_toml_value *table,
                                           const char *key, size_t len)
{
  const toml_entry *e;
  if (table == NULL || table->type != HLM_TOML_TABLE || key == NULL) {
    return NULL;
  }
  e = toml_table_find(table, key, len);
  return e ? e->value : NULL;
}

const hlm_toml_value *hlm_toml_table_get(const hlm_toml_value *table,
                                         const char *key)
{
  return key ? hlm_toml_table_get_n(table, key, strlen(key)) : NULL;
}

const hlm_toml_value *hlm_toml_lookup(const hlm_toml_value *table,
                                      const char *path)
{
  toml_parser p;
  toml_key key = {0};
  const hlm_toml_value *v = table;
  if (table == NULL || path == NULL) {
    return NULL;
  }
  toml_parser_init(&p, path, strlen(path), "<path>");
  p.quiet = true;
  if (toml_parse_key(&p, &key) != HLM_OK || p.pos != p.len) {
    v = NULL;
  }
  for (size_t i = 0; v != NULL && i < key.n; i++) {
    v = hlm_toml_table_get_n(v, key.seg[i].s, key.seg[i].len);
  }
  toml_key_free(&key);
  return v;
}

/* ---- arrays ---- */

size_t hlm_toml_array_count(const hlm_toml_value *array)
{
  return array && array->type == HLM_TOML_ARRAY ? array->u.a.count : 0;
}

const hlm_toml_value *hlm_toml_array_item(const hlm_toml_value *array,
                                          size_t index)
{
  if (array == NULL || array->type != HLM_TOML_ARRAY ||
      index >= array->u.a.count) {
    return NULL;
  }
  return array->u.a.items[index];
}

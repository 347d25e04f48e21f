/* toml_parse.c: the TOML 1.0.0 document grammar: lines, comments, keys,
 * [tables], [[arrays of tables]], arrays, inline tables and the rules that
 * decide which tables may be extended.  Local. */
#include "toml_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KEY_DISPLAY_MAX = 160 };

/* ---- positions and messages ---- */

void toml_parser_init(toml_parser *p, const char *src, size_t len,
                      const char *name)
{
  memset(p, 0, sizeof *p);
  p->src = src;
  p->len = len;
  p->line = 1;
  p->col_line = 1;
  p->col_val = 1;
  p->name = name;
}

static bool is_continuation(unsigned char c)
{
  return (c & 0xC0) == 0x80;
}

/* Columns count characters: every byte that does not continue a UTF-8
 * sequence starts one. */
static int count_columns(const char *s, size_t from, size_t to, int col)
{
  for (size_t i = from; i < to; i++) {
    if (!is_continuation((unsigned char)s[i])) {
      col++;
    }
  }
  return col;
}

/* Line and column of any offset, by scanning from the start (errors). */
static void scan_position(const toml_parser *p, size_t at, int *line,
                          int *column)
{
  int l = 1;
  size_t start = 0;
  if (at > p->len) {
    at = p->len;
  }
  for (size_t i = 0; i < at; i++) {
    if (p->src[i] == '\n') {
      l++;
      start = i + 1;
    }
  }
  if (start == 0 && p->len >= 3 && memcmp(p->src, "\xEF\xBB\xBF", 3) == 0 &&
      at >= 3) {
    start = 3; /* the byte order mark is not a column */
  }
  *line = l;
  *column = count_columns(p->src, start, at, 1);
}

/* Offsets between the start of the current line and pos (values and keys
 * being read; every newline goes through toml_newline) are counted from a
 * cache, so a long line costs linear time overall. */
void toml_position(toml_parser *p, size_t at, int *line, int *column)
{
  bool cached;
  size_t from;
  if (at < p->line_start || at > p->pos) {
    scan_position(p, at, line, column);
    return;
  }
  cached =
      p->col_line == p->line && p->col_off >= p->line_start && p->col_off <= at;
  from = cached ? p->col_off : p->line_start;
  p->col_val = count_columns(p->src, from, at, cached ? p->col_val : 1);
  p->col_line = p->line;
  p->col_off = at;
  *line = p->line;
  *column = p->col_val;
}

hlm_status toml_fail(toml_parser *p, size_t at, const char *fmt, ...)
{
  char msg[512];
  int line, column;
  va_list ap;
  if (p->quiet) {
    return HLM_ERR_PARSE;
  }
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  scan_position(p, at, &line, &column);
  return HLM_ERROR(HLM_ERR_PARSE, "%s:%d:%d: %s", p->name, line, column, msg);
}

/* The code point of the valid UTF-8 sequence at s (n bytes available). */
static unsigned long decode_utf8(const unsigned char *s, size_t n)
{
  unsigned long cp = s[0];
  size_t extra = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
  if (extra >= n) {
    return cp;
  }
  cp &= 0x3Fu >> extra;
  for (size_t i = 1; i <= extra; i++) {
    cp = (cp << 6) | (s[i] & 0x3Fu);
  }
  return cp;
}

const char *toml_describe(const toml_parser *p, size_t at, char *buf,
                          size_t cap)
{
  unsigned char c;
  if (at >= p->len) {
    return "end of file";
  }
  c = (unsigned char)p->src[at];
  if (c == '\n' || (c == '\r' && at + 1 < p->len && p->src[at + 1] == '\n')) {
    return "end of line";
  }
  if (c == '\t') {
    return "a tab";
  }
  if (c == ' ') {
    return "a space";
  }
  if (c > 0x20 && c < 0x7F) {
    snprintf(buf, cap, "`%c`", c);
  } else if (c < 0x80) {
    snprintf(buf, cap, "control character U+%04X", c);
  } else {
    const unsigned char *s = (const unsigned char *)p->src + at;
    size_t n = 1;
    while (at + n < p->len && n < 4 && is_continuation(s[n])) {
      n++;
    }
    snprintf(buf, cap, "`%.*s` (U+%04lX)", (int)n, (const char *)s,
             decode_utf8(s, p->len - at));
  }
  return buf;
}

/* PARSE_CHECK(cond, p, at, fmt, ...): on failure record a positioned
 * message and jump to cleanup. */
#define PARSE_CHECK(cond, p, at, ...)                                          \
  do {                                                                         \
    if (!(cond)) {                                                             \
      status = toml_fail((p), (at), __VA_ARGS__);                              \
      goto cleanup;                                                            \
    }                                                                          \
  } while (0)

#define DESCRIBE(p, at) toml_describe((p), (at), (char[48]){0}, 48)

/* ---- encoding ---- */

/* Length of the valid UTF-8 sequence at s[0..n), 0 if invalid (overlong
 * forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_length(const unsigned char *s, size_t n)
{
  unsigned char c = s[0];
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c < 0x80) {
    return 1;
  } else if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    lo = c == 0xE0 ? 0xA0 : 0x80;
    hi = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (n < need || s[1] < lo || s[1] > hi) {
    return 0;
  }
  for (size_t i = 2; i < need; i++) {
    if (!is_continuation(s[i])) {
      return 0;
    }
  }
  return need;
}

static hlm_status check_utf8(toml_parser *p)
{
  const unsigned char *s = (const unsigned char *)p->src;
  size_t i = 0;
  while (i < p->len) {
    size_t n = utf8_length(s + i, p->len - i);
    if (n == 0) {
      return toml_fail(p, i,
                       "invalid UTF-8 (byte 0x%02X); TOML files must be "
                       "encoded in UTF-8",
                       s[i]);
    }
    i += n;
  }
  return HLM_OK;
}

/* ---- lexical helpers ---- */

static int peek(const toml_parser *p, size_t ahead)
{
  return p->pos + ahead < p->len ? (unsigned char)p->src[p->pos + ahead] : -1;
}

static void skip_ws(toml_parser *p)
{
  while (p->pos < p->len && (p->src[p->pos] == ' ' || p->src[p->pos] == '\t')) {
    p->pos++;
  }
}

static void here(toml_parser *p, int *line, int *column)
{
  toml_position(p, p->pos, line, column);
}

hlm_status toml_newline(toml_parser *p)
{
  if (peek(p, 0) == '\n') {
    p->pos += 1;
  } else if (peek(p, 0) == '\r' && peek(p, 1) == '\n') {
    p->pos += 2;
  } else if (peek(p, 0) == '\r') {
    return toml_fail(p, p->pos,
                     "carriage return not followed by a line feed "
                     "(a lone CR is not a newline in TOML)");
  } else {
    return toml_fail(p, p->pos, "expected a newline, found %s",
                     DESCRIBE(p, p->pos));
  }
  p->line++;
  p->line_start = p->pos;
  return HLM_OK;
}

static bool at_newline(const toml_parser *p)
{
  return peek(p, 0) == '\n' || (peek(p, 0) == '\r' && peek(p, 1) == '\n');
}

/* At '#': skip to the end of the line (not consuming the newline). */
static hlm_status skip_comment(toml_parser *p)
{
  p->pos++;
  while (p->pos < p->len && !at_newline(p)) {
    unsigned char c = (unsigned char)p->src[p->pos];
    if ((c < 0x20 && c != '\t') || c == 0x7F) {
      return toml_fail(
          p, p->pos, "control character U+%04X is not allowed in a comment", c);
    }
    p->pos++;
  }
  return HLM_OK;
}

/* Whitespace, comments and newlines (inside arrays). */
static hlm_status skip_ws_nl(toml_parser *p)
{
  hlm_status status = HLM_OK;
  for (;;) {
    skip_ws(p);
    if (peek(p, 0) == '#') {
      HLM_TRY(skip_comment(p));
    } else if (peek(p, 0) == '\n' || peek(p, 0) == '\r') {
      HLM_TRY(toml_newline(p));
    } else {
      break;
    }
  }
cleanup:
  return status;
}

/* After a key/value pair or a header: optional comment, then a newline. */
static hlm_status expect_eol(toml_parser *p, const char *after)
{
  hlm_status status = HLM_OK;
  skip_ws(p);
  if (peek(p, 0) == '#') {
    HLM_TRY(skip_comment(p));
  }
  if (p->pos >= p->len) {
    goto cleanup;
  }
  PARSE_CHECK(at_newline(p) || peek(p, 0) == '\r', p, p->pos,
              "expected the end of the line after %s, "
              "found %s",
              after, DESCRIBE(p, p->pos));
  HLM_TRY(toml_newline(p));
cleanup:
  return status;
}

/* ---- keys ---- */

static bool is_bare(int c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

void toml_key_free(toml_key *key)
{
  for (size_t i = 0; i < key->n; i++) {
    free(key->seg[i].s);
  }
  free(key->seg);
  memset(key, 0, sizeof *key);
}

static hlm_status parse_bare_segment(toml_parser *p, char **out, size_t *len)
{
  hlm_status status = HLM_OK;
  size_t start = p->pos;
  while (p->pos < p->len && is_bare((unsigned char)p->src[p->pos])) {
    p->pos++;
  }
  *len = p->pos - start;
  PARSE_CHECK(*len > 0, p, start, "expected a key, found %s",
              DESCRIBE(p, start));
  HLM_ALLOC(*out, *len + 1);
  memcpy(*out, p->src + start, *len);
cleanup:
  return status;
}

static hlm_status push_segment(toml_parser *p, toml_key *key, toml_keyseg seg)
{
  hlm_status status = HLM_OK;
  PARSE_CHECK(key->n < HLM_TOML_MAX_DEPTH, p, seg.off,
              "key has more than %d parts", HLM_TOML_MAX_DEPTH);
  if (key->n == key->cap) {
    size_t cap = key->cap ? 2 * key->cap : 4;
    toml_keyseg *grown = realloc(key->seg, cap * sizeof *grown);
    HLM_CHECK(grown != NULL, HLM_ERR_NOMEM, "out of memory parsing a key");
    key->seg = grown;
    key->cap = cap;
  }
  key->seg[key->n++] = seg;
cleanup:
  return status;
}

hlm_status toml_parse_key(toml_parser *p, toml_key *key)
{
  hlm_status status = HLM_OK;
  toml_keyseg seg = {0};
  for (;;) {
    skip_ws(p);
    seg.off = p->pos;
    here(p, &seg.line, &seg.column);
    if (peek(p, 0) == '"' || peek(p, 0) == '\'') {
      HLM_TRY(toml_parse_string(p, false, &seg.s, &seg.len));
    } else {
      HLM_TRY(parse_bare_segment(p, &seg.s, &seg.len));
    }
    HLM_TRY(push_segment(p, key, seg));
    seg.s = NULL;
    skip_ws(p);
    if (peek(p, 0) != '.') {
      break;
    }
    p->pos++;
  }
cleanup:
  free(seg.s);
  return status;
}

/* Write key segments [0, n) as TOML would, quoting non-bare segments. */
static const char *key_text(const toml_key *key, size_t n, char *buf,
                            size_t cap)
{
  size_t w = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && w + 8 < cap; i++) {
    const toml_keyseg *s = &key->seg[i];
    bool bare = s->len > 0;
    for (size_t j = 0; j < s->len; j++) {
      bare = bare && is_bare((unsigned char)s->s[j]);
    }
    if (i > 0) {
      buf[w++] = '.';
    }
    if (!bare) {
      buf[w++] = '"';
    }
    for (size_t j = 0; j < s->len && w + 8 < cap; j++) {
      unsigned char c = (unsigned char)s->s[j];
      if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') {
        w += (size_t)snprintf(buf + w, cap - w,
                              c == '"' || c == '\\' ? "\\%c" : "\\u%04X", c);
      } else {
        buf[w++] = (char)c;
      }
    }
    if (!bare) {
      buf[w++] = '"';
    }
  }
  if (w + 8 >= cap) {
    w = cap - 8 < w ? cap - 8 : w;
    memcpy(buf + w, "...", 4);
    w += 3;
  }
  buf[w] = '\0';
  return buf;
}

#define KEY_TEXT(key, n)                                                       \
  key_text((key), (n), (char[KEY_DISPLAY_MAX]){0}, KEY_DISPLAY_MAX)

/* ---- values ---- */

static hlm_status parse_value(toml_parser *p, int depth, hlm_toml_value **out);
static hlm_status insert_dotted(toml_parser *p, hlm_toml_value *table,
                                const toml_key *key, hlm_toml_value *value);

static hlm_status new_container(toml_parser *p, hlm_toml_type type, int depth,
                                size_t off, hlm_toml_value **out)
{
  hlm_status status = HLM_OK;
  int line, column;
  toml_position(p, off, &line, &column);
  PARSE_CHECK(depth <= HLM_TOML_MAX_DEPTH, p, off,
              "tables and arrays are nested more than %d levels "
              "deep",
              HLM_TOML_MAX_DEPTH);
  HLM_TRY(toml_value_new(type, p->name, line, column, depth, out));
cleanup:
  return status;
}

static hlm_status parse_array(toml_parser *p, int depth, hlm_toml_value **out)
{
  hlm_status status = HLM_OK;
  hlm_toml_value *arr = NULL, *item = NULL;
  size_t open = p->pos;
  HLM_TRY(new_container(p, HLM_TOML_ARRAY, depth, open, &arr));
  p->pos++;
  for (;;) {
    HLM_TRY(skip_ws_nl(p));
    if (peek(p, 0) == ']') {
      break;
    }
    HLM_TRY(parse_value(p, depth + 1, &item));
    HLM_TRY(toml_array_push(arr, item));
    item = NULL;
    HLM_TRY(skip_ws_nl(p));
    if (peek(p, 0) == ',') {
      p->pos++;
      continue;
    }
    PARSE_CHECK(peek(p, 0) == ']', p, p->pos,
                "expected `,` or `]` in the array opened at %d:%d, "
                "found %s",
                arr->line, arr->column, DESCRIBE(p, p->pos));
  }
  p->pos++;
  *out = arr;
  arr = NULL;
cleanup:
  toml_value_free(item);
  toml_value_free(arr);
  return status;
}

static hlm_status parse_inline_pair(toml_parser *p, hlm_toml_value *table)
{
  hlm_status status = HLM_OK;
  toml_key key = {0};
  hlm_toml_value *value = NULL;
  HLM_TRY(toml_parse_key(p, &key));
  PARSE_CHECK(peek(p, 0) == '=', p, p->pos,
              "expected `=` after the key `%s`, found %s",
              KEY_TEXT(&key, key.n), DESCRIBE(p, p->pos));
  p->pos++;
  skip_ws(p);
  HLM_TRY(parse_value(p, table->depth + (int)key.n, &value));
  HLM_TRY(insert_dotted(p, table, &key, value));
  value = NULL;
cleanup:
  toml_value_free(value);
  toml_key_free(&key);
  return status;
}

static hlm_status parse_inline_table(toml_parser *p, int depth,
                                     hlm_toml_value **out)
{
  hlm_status status = HLM_OK;
  hlm_toml_value *table = NULL;
  HLM_TRY(new_container(p, HLM_TOML_TABLE, depth, p->pos, &table));
  table->flags = TOML_F_INLINE;
  p->pos++;
  skip_ws(p);
  if (peek(p, 0) == '}') {
    p->pos++;
    *out = table;
    table = NULL;
    goto cleanup;
  }
  for (;;) {
    HLM_TRY(parse_inline_pair(p, table));
    skip_ws(p);
    if (peek(p, 0) == '}') {
      break;
    }
    PARSE_CHECK(peek(p, 0) == ',', p, p->pos,
                "expected `,` or `}` in the inline table opened at "
                "%d:%d, found %s (inline tables must be on one line)",
                table->line, table->column, DESCRIBE(p, p->pos));
    p->pos++;
    skip_ws(p);
    PARSE_CHECK(peek(p, 0) != '}', p, p->pos,
                "trailing comma is not allowed in an inline table");
  }
  p->pos++;
  *out = table;
  table = NULL;
cleanup:
  toml_value_free(table);
  return status;
}

static hlm_status parse_value(toml_parser *p, int depth, hlm_toml_value **out)
{
  hlm_status status = HLM_OK;
  hlm_toml_value *v = NULL;
  int c = peek(p, 0), line, column;
  *out = NULL;
  if (c == '[') {
    HLM_TRY(parse_array(p, depth, out));
    goto cleanup;
  }
  if (c == '{') {
    HLM_TRY(parse_inline_table(p, depth, out));
    goto cleanup;
  }
  here(p, &line, &column);
  HLM_TRY(toml_value_new(HLM_TOML_STRING, p->name, line, column, depth, &v));
  if (c == '"' || c == '\'') {
    HLM_TRY(toml_parse_string(p, true, &v->u.s.ptr, &v->u.s.len));
  } else if (c != -1 && (is_bare(c) || c == '+')) {
    HLM_TRY(toml_parse_bare_value(p, v));
  } else {
    PARSE_CHECK(false, p, p->pos,
                "expected a value (string, number, boolean, date, "
                "array or inline table), found %s",
                DESCRIBE(p, p->pos));
  }
  *out = v;
  v = NULL;
cleanup:
  toml_value_free(v);
  return status;
}

/* ---- tables and the rules for extending them ---- */

/* What a failed extension tried to do. */
typedef enum extend_action {
  EXTEND_DOTTED,   /* a.b = 1 */
  EXTEND_SUBTABLE, /* [a.b] through a */
  EXTEND_TABLE,    /* [a] */
  EXTEND_AOT       /* [[a]] */
} extend_action;

/* Why an existing value v cannot be used as the table named by key[0, n). */
static hlm_status not_extensible(toml_parser *p, const toml_key *key, size_t n,
                                 const hlm_toml_value *v, extend_action action)
{
  char what[KEY_DISPLAY_MAX + 64];
  const char *name = KEY_TEXT(key, n);
  size_t at = key->seg[n - 1].off;
  switch (action) {
  case EXTEND_DOTTED:
    snprintf(what, sizeof what, "cannot add keys to `%s` with a dotted key",
             name);
    break;
  case EXTEND_SUBTABLE:
    snprintf(what, sizeof what, "cannot define a table inside `%s`", name);
    break;
  case EXTEND_TABLE:
    snprintf(what, sizeof what, "cannot define table [%s]", name);
    break;
  case EXTEND_AOT:
    snprintf(what, sizeof what, "cannot define array of tables [[%s]]", name);
    break;
  }
  if (v->type == HLM_TOML_TABLE && (v->flags & TOML_F_INLINE)) {
    return toml_fail(p, at,
                     "%s: it is an inline table (written at %d:%d) and "
                     "inline tables cannot be extended",
                     what, v->line, v->column);
  }
  if (v->type == HLM_TOML_TABLE && (v->flags & TOML_F_DOTTED)) {
    return toml_fail(p, at,
                     "%s: it was already defined by a dotted key at "
                     "%d:%d",
                     what, v->line, v->column);
  }
  if (v->type == HLM_TOML_TABLE) {
    return toml_fail(p, at,
                     "%s: it was already defined by a table header at %d:%d",
                     what, v->line, v->column);
  }
  if (v->type == HLM_TOML_ARRAY && (v->flags & TOML_F_AOT)) {
    return toml_fail(p, at,
                     "%s: it is an array of tables (first written at "
                     "%d:%d)",
                     what, v->line, v->column);
  }
  return toml_fail(p, at, "%s: it is already %s %s (written at %d:%d)", what,
                   toml_type_article(v->type), hlm_toml_type_name(v->type),
                   v->line, v->column);
}

/* A new empty table or array named seg in parent. */
static hlm_status add_container(toml_parser *p, hlm_toml_value *parent,
                                const toml_keyseg *seg, hlm_toml_type type,
                                unsigned flags, hlm_toml_value **out)
{
  hlm_status status = HLM_OK;
  hlm_toml_value *t = NULL;
  HLM_TRY(new_container(p, type, parent->depth + 1, seg->off, &t));
  t->flags = flags;
  HLM_TRY(toml_table_add(parent, seg->s, seg->len, seg->line, seg->column, t));
  *out = t;
  t = NULL;
cleanup:
  toml_value_free(t);
  return status;
}

static hlm_status insert_dotted(toml_parser *p, hlm_toml_value *table,
                                const toml_key *key, hlm_toml_value *value)
{
  hlm_status status = HLM_OK;
  hlm_toml_value *t = table;
  const toml_keyseg *last = &key->seg[key->n - 1];
  toml_entry *e;
  for (size_t i = 0; i + 1 < key->n; i++) {
    const toml_keyseg *seg = &key->seg[i];
    e = toml_table_find(t, seg->s, seg->len);
    if (e == NULL) {
      HLM_TRY(add_container(p, t, seg, HLM_TOML_TABLE, TOML_F_DOTTED, &t));
    } else if (e->value->type == HLM_TOML_TABLE &&
               (e->value->flags & TOML_F_DOTTED)) {
      t = e->value;
    } else {
      status = not_extensible(p, key, i + 1, e->value, EXTEND_DOTTED);
      goto cleanup;
    }
  }
  e = toml_table_find(t, last->s, last->len);
  PARSE_CHECK(e == NULL, p, last->off,
              "duplicate key `%s` (first defined at %d:%d)",
              KEY_TEXT(key, key->n), e->line, e->column);
  HLM_TRY(
      toml_table_add(t, last->s, last->len, last->line, last->column, value));
cleanup:
  return status;
}

/* Walk the header key except its last segment, creating implicit tables. */
static hlm_status header_parent(toml_parser *p, hlm_toml_value *root,
                                const toml_key *key, hlm_toml_value **out)
{
  hlm_status status = HLM_OK;
  hlm_toml_value *t = root;
  for (size_t i = 0; i + 1 < key->n; i++) {
    const toml_keyseg *seg = &key->seg[i];
    toml_entry *e = toml_table_find(t, seg->s, seg->len);
    if (e == NULL) {
      HLM_TRY(add_container(p, t, seg, HLM_TOML_TABLE, TOML_F_IMPLICIT, &t));
    } else if (e->value->type == HLM_TOML_TABLE &&
               !(e->value->flags & TOML_F_INLINE)) {
      t = e->value;
    } else if (e->value->type == HLM_TOML_ARRAY &&
               (e->value->flags & TOML_F_AOT)) {
      t = e->value->u.a.items[e->value->u.a.count - 1];
    } else {
      status = not_extensible(p, key, i + 1, e->value, EXTEND_SUBTABLE);
      goto cleanup;
    }
  }
  *out = t;
cleanup:
  return status;
}

static hlm_status define_table(toml_parser *p, hlm_toml_value *parent,
                               const toml_key *key, size_t open,
                               hlm_toml_value **current)
{
  hlm_status status = HLM_OK;
  const toml_keyseg *last = &key->seg[key->n - 1];
  toml_entry *e = toml_table_find(parent, last->s, last->len);
  hlm_toml_value *t;
  if (e == NULL) {
    HLM_TRY(
        add_container(p, parent, last, HLM_TOML_TABLE, TOML_F_EXPLICIT, &t));
  } else if (e->value->type == HLM_TOML_TABLE &&
             e->value->flags == TOML_F_IMPLICIT) {
    t = e->value;
    t->flags = TOML_F_EXPLICIT;
  } else {
    status = not_extensible(p, key, key->n, e->value, EXTEND_TABLE);
    goto cleanup;
  }
  toml_position(p, open, &t->line, &t->column);
  *current = t;
cleanup:
  return status;
}

static hlm_status append_table(toml_parser *p, hlm_toml_value *parent,
                               const toml_key *key, size_t open,
                               hlm_toml_value **current)
{
  hlm_status status = HLM_OK;
  const toml_keyseg *last = &key->seg[key->n - 1];
  toml_entry *e = toml_table_find(parent, last->s, last->len);
  hlm_toml_value *arr, *t = NULL;
  if (e == NULL) {
    HLM_TRY(add_container(p, parent, last, HLM_TOML_ARRAY, TOML_F_AOT, &arr));
    toml_position(p, open, &arr->line, &arr->column);
  } else if (e->value->type == HLM_TOML_ARRAY &&
             (e->value->flags & TOML_F_AOT)) {
    arr = e->value;
  } else {
    status = not_extensible(p, key, key->n, e->value, EXTEND_AOT);
    goto cleanup;
  }
  HLM_TRY(new_container(p, HLM_TOML_TABLE, arr->depth + 1, open, &t));
  t->flags = TOML_F_EXPLICIT;
  HLM_TRY(toml_array_push(arr, t));
  *current = t;
  t = NULL;
cleanup:
  toml_value_free(t);
  return status;
}

static hlm_status parse_header(toml_parser *p, hlm_toml_value *root,
                               hlm_toml_value **current)
{
  hlm_status status = HLM_OK;
  toml_key key = {0};
  hlm_toml_value *parent = NULL;
  size_t open = p->pos;
  bool aot = peek(p, 1) == '[';
  p->pos += aot ? 2 : 1;
  HLM_TRY(toml_parse_key(p, &key));
  PARSE_CHECK(peek(p, 0) == ']' && (!aot || peek(p, 1) == ']'), p, p->pos,
              "expected `%s` to close the header, found %s", aot ? "]]" : "]",
              DESCRIBE(p, p->pos));
  p->pos += aot ? 2 : 1;
  HLM_TRY(header_parent(p, root, &key, &parent));
  if (aot) {
    HLM_TRY(append_table(p, parent, &key, open, current));
  } else {
    HLM_TRY(define_table(p, parent, &key, open, current));
  }
cleanup:
  toml_key_free(&key);
  return status;
}

static hlm_status parse_keyval(toml_parser *p, hlm_toml_value *table)
{
  return parse_inline_pair(p, table);
}

hlm_status toml_parse_document(toml_parser *p, hlm_toml_value *root)
{
  hlm_status status = HLM_OK;
  hlm_toml_value *current = root;
  HLM_TRY(check_utf8(p));
  if (p->len >= 3 && memcmp(p->src, "\xEF\xBB\xBF", 3) == 0) {
    p->pos = p->line_start = 3; /* byte order mark */
  }
  for (;;) {
    skip_ws(p);
    if (p->pos >= p->len) {
      break;
    }
    int c = peek(p, 0);
    if (c == '#') {
      HLM_TRY(skip_comment(p));
    } else if (c == '\n' || c == '\r') {
      HLM_TRY(toml_newline(p));
    } else if (c == '[') {
      HLM_TRY(parse_header(p, root, &current));
      HLM_TRY(expect_eol(p, "the table header"));
    } else {
      HLM_TRY(parse_keyval(p, current));
      HLM_TRY(expect_eol(p, "the value"));
    }
  }
cleanup:
  return status;
}

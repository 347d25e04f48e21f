/*
 * toml_internal.h: data structures shared by the TOML reader's source files
 * (toml.c: tree and public accessors; toml_parse.c: document grammar;
 * toml_scalar.c: strings, numbers, dates and times).  Not installed.
 */
#ifndef HLM_TOML_INTERNAL_H
#define HLM_TOML_INTERNAL_H

#include "hlm/toml.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a table or array came to exist; decides what may be added later. */
enum {
  TOML_F_EXPLICIT = 1u, /* [header] (or the root table) */
  TOML_F_IMPLICIT = 2u, /* intermediate of a [a.b.c] header; [a] may follow */
  TOML_F_DOTTED = 4u,   /* created by a dotted key a.b = 1 */
  TOML_F_INLINE = 8u,   /* inline table: complete once written */
  TOML_F_AOT = 16u      /* array created by [[header]] */
};

typedef struct toml_entry {
  char *key; /* owned, NUL-terminated, may contain NUL */
  size_t keylen;
  int line, column;      /* where the key was first written */
  hlm_toml_value *value; /* owned */
} toml_entry;

struct hlm_toml_value {
  hlm_toml_type type;
  unsigned flags;
  int line, column;
  int depth;        /* containers above this value (root: 0) */
  const char *file; /* not owned: the document's name */
  union {
    struct {
      char *ptr; /* owned, NUL-terminated */
      size_t len;
    } s;
    int64_t i;
    double f;
    bool b;
    hlm_toml_datetime dt;
    struct {
      toml_entry *entries; /* owned, document order */
      size_t count, cap;
      size_t *index; /* owned hash index (entry + 1, 0 = empty) or NULL */
      size_t index_cap;
    } t;
    struct {
      hlm_toml_value **items; /* owned */
      size_t count, cap;
    } a;
  } u;
};

struct hlm_toml_doc {
  char *name; /* owned */
  hlm_toml_value *root;
};

/* Parser state over one source text (not owned). */
typedef struct toml_parser {
  const char *src;
  size_t len;
  size_t pos;
  int line;          /* line of pos, 1-based */
  size_t line_start; /* offset of the first byte of that line */
  size_t col_off;    /* column cache: offset col_off on line col_line */
  int col_line, col_val;
  const char *name; /* for messages */
  bool quiet;       /* do not record messages (path lookups) */
} toml_parser;

/* One segment of a (dotted) key, decoded. */
typedef struct toml_keyseg {
  char *s; /* owned, NUL-terminated */
  size_t len;
  size_t off; /* byte offset in the source */
  int line, column;
} toml_keyseg;

typedef struct toml_key {
  toml_keyseg *seg; /* owned */
  size_t n, cap;
} toml_key;

/* ---- toml.c: tree ---- */
hlm_status toml_value_new(hlm_toml_type type, const char *file, int line,
                          int column, int depth, hlm_toml_value **out);
void toml_value_free(hlm_toml_value *value);
toml_entry *toml_table_find(const hlm_toml_value *table, const char *key,
                            size_t len);
/* Copies key; on success the table owns value, on failure the caller does. */
hlm_status toml_table_add(hlm_toml_value *table, const char *key, size_t len,
                          int line, int column, hlm_toml_value *value);
/* On success the array owns value, on failure the caller does. */
hlm_status toml_array_push(hlm_toml_value *array, hlm_toml_value *value);
const char *toml_type_article(hlm_toml_type type); /* "an integer" */

/* ---- toml_parse.c: grammar ---- */
void toml_parser_init(toml_parser *p, const char *src, size_t len,
                      const char *name);
hlm_status toml_parse_document(toml_parser *p, hlm_toml_value *root);
hlm_status toml_parse_key(toml_parser *p, toml_key *key);
void toml_key_free(toml_key *key);

/* Record "name:line:col: message" for byte offset at; returns
 * HLM_ERR_PARSE. */
hlm_status toml_fail(toml_parser *p, size_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Line and column of offset at: fast for offsets on the current line up to
 * pos, a full scan from the start for any other offset. */
void toml_position(toml_parser *p, size_t at, int *line, int *column);
/* Describe the character at offset at for messages ("`x`", "end of line"). */
const char *toml_describe(const toml_parser *p, size_t at, char *buf,
                          size_t cap);
/* Consume a newline (LF or CRLF) at pos and advance the line counter. */
hlm_status toml_newline(toml_parser *p);

/* ---- toml_scalar.c: strings, numbers, dates ---- */
/* A string at pos; multi-line forms only if allow_multiline. */
hlm_status toml_parse_string(toml_parser *p, bool allow_multiline, char **out,
                             size_t *len);
/* A number, boolean or date/time token at pos, stored into value (whose type
 * is set). */
hlm_status toml_parse_bare_value(toml_parser *p, hlm_toml_value *value);

#endif /* HLM_TOML_INTERNAL_H */

/*
 * hlm/toml.h: a strict TOML 1.0.0 reader.
 *
 * The reader parses a whole document into an immutable tree owned by an
 * hlm_toml_doc.  Every value and every key remembers where it was written
 * (file name, 1-based line, 1-based column counted in Unicode characters), so
 * that callers can report errors such as
 *
 *     config.toml:12:5: unknown key `formla` (did you mean `formula`?)
 *
 * Ownership: hlm_toml_parse_file / hlm_toml_parse_string create a document
 * the caller owns and releases with hlm_toml_doc_destroy().  Every
 * hlm_toml_value pointer, key and string returned by the functions below
 * points into that document: it is owned by the document, must not be freed,
 * and is valid until the document is destroyed.
 *
 * Errors: parse failures return HLM_ERR_PARSE (HLM_ERR_IO for unreadable
 * files, HLM_ERR_NOMEM for allocation failures) and record a message
 * "file:line:column: what is wrong" in the error record (hlm/error.h).
 * Typed getters return HLM_ERR_CONFIG on a type mismatch with a message
 * naming the value's position and the expected and actual types.
 *
 * Limits: containers (tables, arrays, inline tables) may nest at most
 * HLM_TOML_MAX_DEPTH levels below the root table; deeper documents are
 * rejected with an error.
 *
 * All functions here are Local (no MPI communication).  The reader keeps no
 * global state; distinct documents may be used from distinct threads, and a
 * document may be read concurrently once parsed.
 */
#ifndef HLM_TOML_H
#define HLM_TOML_H

#include "hlm/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Maximum nesting of containers below the root table. */
#define HLM_TOML_MAX_DEPTH 128

/* A parsed document (opaque). */
typedef struct hlm_toml_doc hlm_toml_doc;

/* A value inside a document (opaque). */
typedef struct hlm_toml_value hlm_toml_value;

/* The type of a value. */
typedef enum hlm_toml_type {
  HLM_TOML_TABLE = 1,       /* [table], inline table or the root table */
  HLM_TOML_ARRAY,           /* array or array of tables */
  HLM_TOML_STRING,          /* UTF-8 with explicit length, may contain NUL */
  HLM_TOML_INTEGER,         /* int64_t */
  HLM_TOML_FLOAT,           /* double, incl. inf and nan */
  HLM_TOML_BOOLEAN,         /* bool */
  HLM_TOML_OFFSET_DATETIME, /* 1979-05-27T07:32:00-07:00 */
  HLM_TOML_LOCAL_DATETIME,  /* 1979-05-27T07:32:00 */
  HLM_TOML_LOCAL_DATE,      /* 1979-05-27 */
  HLM_TOML_LOCAL_TIME       /* 07:32:00 */
} hlm_toml_type;

/* A validated date, time or date-time.  Fields that the value does not have
 * are zero: a local date has has_date only, a local time has_time only, a
 * local date-time has_date and has_time, an offset date-time all three.
 * Fractional seconds beyond nanoseconds are truncated, as the spec allows.
 * second may be 60 (a leap second, as RFC 3339 allows). */
typedef struct hlm_toml_datetime {
  int year;           /* 0..9999 */
  int month;          /* 1..12 */
  int day;            /* 1..28/29/30/31 */
  int hour;           /* 0..23 */
  int minute;         /* 0..59 */
  int second;         /* 0..60 */
  int nanosecond;     /* 0..999999999 */
  int frac_digits;    /* digits written after the decimal point (0 if none) */
  int offset_minutes; /* -1439..1439; 0 for Z */
  bool has_date;
  bool has_time;
  bool has_offset;
} hlm_toml_datetime;

/* Parse the file at path.  On success *out is a new document that the caller
 * destroys with hlm_toml_doc_destroy(); on failure *out is NULL.
 * Returns HLM_OK, HLM_ERR_IO, HLM_ERR_PARSE, HLM_ERR_NOMEM or
 * HLM_ERR_INVALID_ARG (NULL arguments).  Messages name the file as `path`. */
hlm_status hlm_toml_parse_file(const char *path, hlm_toml_doc **out);

/* Parse len bytes of text (need not be NUL-terminated; an embedded NUL byte
 * is a syntax error).  name_for_messages names the source in error messages
 * and positions (copied; NULL means "<string>").  Same results as
 * hlm_toml_parse_file apart from HLM_ERR_IO. */
hlm_status hlm_toml_parse_string(const char *text, size_t len,
                                 const char *name_for_messages,
                                 hlm_toml_doc **out);

/* Destroy a document and everything in it.  NULL-safe; sets *doc to NULL. */
void hlm_toml_doc_destroy(hlm_toml_doc **doc);

/* The root table of a document (never NULL for a non-NULL doc). */
const hlm_toml_value *hlm_toml_root(const hlm_toml_doc *doc);

/* The name used in messages (the path or name_for_messages). */
const char *hlm_toml_doc_name(const hlm_toml_doc *doc);

/* ---- values ------------------------------------------------------------ */

/* The type of a value; 0 for NULL. */
hlm_toml_type hlm_toml_value_type(const hlm_toml_value *value);

/* A short English name for a type ("integer", "offset date-time", ...). */
const char *hlm_toml_type_name(hlm_toml_type type);

/* Where the value was written: the first character of a scalar, the `[` of
 * an array, the `{` of an inline table, the `[` of a [table] header (or of
 * the first [[header]] for an array of tables), or the key segment that
 * created a table implicitly.  The root table is at 1:1.  Lines and columns
 * are 1-based; columns count Unicode characters (a tab counts as one).
 * All three return 0 / NULL for a NULL value. */
int hlm_toml_value_line(const hlm_toml_value *value);
int hlm_toml_value_column(const hlm_toml_value *value);
const char *hlm_toml_value_file(const hlm_toml_value *value);

/* ---- typed getters ------------------------------------------------------
 * On success they store the value and return HLM_OK.  On a type mismatch
 * they leave *out untouched and return HLM_ERR_CONFIG with a message such as
 * "config.toml:3:9: expected an integer, found a string".  A NULL value or
 * out pointer gives HLM_ERR_INVALID_ARG. */

/* The string's bytes (NUL-terminated for convenience, but it may contain
 * NUL bytes: use *len, which may be NULL if the caller does not need it). */
hlm_status hlm_toml_get_string(const hlm_toml_value *value, const char **out,
                               size_t *len);
hlm_status hlm_toml_get_integer(const hlm_toml_value *value, int64_t *out);
/* A float value only. */
hlm_status hlm_toml_get_float(const hlm_toml_value *value, double *out);
/* A float, or an integer that a double represents exactly (|i| <= 2^53);
 * larger integers fail with HLM_ERR_CONFIG. */
hlm_status hlm_toml_get_number(const hlm_toml_value *value, double *out);
hlm_status hlm_toml_get_boolean(const hlm_toml_value *value, bool *out);
/* Any of the four date/time types; check the has_* fields or the type. */
hlm_status hlm_toml_get_datetime(const hlm_toml_value *value,
                                 hlm_toml_datetime *out);

/* ---- tables --------------------------------------------------------------
 * Entries are kept in document order (the order in which each key was first
 * written).  On a non-table or an index out of range: count 0, NULL, line 0.
 */
size_t hlm_toml_table_count(const hlm_toml_value *table);
/* The key at index (NUL-terminated; *len, if len is not NULL, receives the
 * length, which matters only for keys containing NUL). */
const char *hlm_toml_table_key(const hlm_toml_value *table, size_t index,
                               size_t *len);
const hlm_toml_value *hlm_toml_table_value(const hlm_toml_value *table,
                                           size_t index);
/* Where the key at index was written (its last occurrence as a dotted-key
 * or header segment is not tracked: this is where it was first written). */
int hlm_toml_table_key_line(const hlm_toml_value *table, size_t index);
int hlm_toml_table_key_column(const hlm_toml_value *table, size_t index);

/* The value of one key (exact match, no dotted-path parsing); NULL if
 * absent or table is not a table. */
const hlm_toml_value *hlm_toml_table_get(const hlm_toml_value *table,
                                         const char *key);
const hlm_toml_value *hlm_toml_table_get_n(const hlm_toml_value *table,
                                           const char *key, size_t len);

/* Look up a dotted path written as a TOML key, e.g. "estimation.tolerance",
 * "a.\"b.c\".d" or "site. 'x y' ".  Returns NULL if the path is malformed, a
 * segment is absent, or an intermediate value is not a table (arrays are not
 * searched). */
const hlm_toml_value *hlm_toml_lookup(const hlm_toml_value *table,
                                      const char *path);

/* ---- arrays ------------------------------------------------------------ */
/* Count 0 / NULL on a non-array or an index out of range. */
size_t hlm_toml_array_count(const hlm_toml_value *array);
const hlm_toml_value *hlm_toml_array_item(const hlm_toml_value *array,
                                          size_t index);

#ifdef __cplusplus
}
#endif
#endif /* HLM_TOML_H */

/* config_internal.h: the schema's representation (src/config_schema.c),
 * shared with the validator (src/config.c).  Not installed. */
#ifndef HLM_CONFIG_INTERNAL_H
#define HLM_CONFIG_INTERNAL_H

#include <stddef.h>

#include "hlm/config.h"

typedef enum hlm_key_type {
  KEY_STRING,       /* any string */
  KEY_PATH,         /* a string resolved relative to the config file */
  KEY_CHOICE,       /* one of `choices` ("a|b|c:issue N": c is planned) */
  KEY_INT,          /* an integer */
  KEY_FLOAT,        /* a float or an integer */
  KEY_BOOL,         /* true or false */
  KEY_NUMBER_TABLE, /* an inline table of numbers by name */
} hlm_key_type;

typedef struct hlm_section_spec {
  const char *name; /* "bayes.prior" for a sub-table */
  int array;        /* 1: an array of tables, [[name]] */
  const char *planned;
  const char *doc;
} hlm_section_spec;

typedef struct hlm_key_spec {
  const char *section;
  const char *key;
  hlm_key_type type;
  const char *def;     /* default, as written in TOML (NULL: none) */
  const char *choices; /* KEY_CHOICE only */
  const char *planned; /* NULL when implemented, else "issue N" */
  size_t offset;       /* destination in hlm_config, (size_t)-1 if none */
  const char *doc;
} hlm_key_spec;

extern const hlm_section_spec hlm_sections[];
extern const int hlm_nsections;
extern const hlm_key_spec hlm_keys[];
extern const int hlm_nkeys;

#endif /* HLM_CONFIG_INTERNAL_H */

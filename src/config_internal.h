/* config_internal.h: the schema's representation (src/config_schema.c),
 * shared with the validator (src/config.c).  Not installed. */
#ifndef HLM_CONFIG_INTERNAL_H
#define HLM_CONFIG_INTERNAL_H

#include <stddef.h>

#include "hlm/config.h"
#include "hlm/toml.h"

typedef enum hlm_key_type {
  KEY_STRING,       /* any string */
  KEY_PATH,         /* a string resolved relative to the config file */
  KEY_CHOICE,       /* one of `choices` ("a|b|c:issue N": c is planned) */
  KEY_INT,          /* an integer */
  KEY_FLOAT,        /* a float or an integer */
  KEY_BOOL,         /* true or false */
  KEY_NUMBER_TABLE, /* an inline table of numbers by name */
  KEY_REAL,         /* any finite number, stored as double (no range check) */
  KEY_MATRIX,       /* an array of arrays of numbers */
  KEY_SCALE_MATRIX, /* a positive number s (s I) or an array of arrays */
} hlm_key_type;

/* Which file a section belongs to: a fit's config.toml, or the file of
 * `hlm-mpi simulate SIM.toml OUT.h5` (src/simulate_config.c). */
typedef enum hlm_file_kind { FILE_CONFIG = 0, FILE_SIMULATE = 1 } hlm_file_kind;

typedef struct hlm_section_spec {
  const char *name; /* "bayes.prior" for a sub-table */
  int array;        /* 1: an array of tables, [[name]] */
  const char *planned;
  const char *doc;
  hlm_file_kind kind; /* the file it belongs in (default: config.toml) */
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

/* Local.  Validate `doc` against the schema's sections of file `kind`:
 * defaults first, then every key of the document, then the required keys;
 * values go to `base` + each key's offset (an hlm_config for FILE_CONFIG,
 * an hlm_sim_config for FILE_SIMULATE) and given[k] is set for each key k
 * found (hlm_nkeys entries).  Messages name `name`:line:column; relative
 * paths resolve against `dir`. */
hlm_status hlm_config_validate_doc(const hlm_toml_doc *doc, const char *name,
                                   const char *dir, hlm_file_kind kind,
                                   void *base, unsigned char *given);

/* Local.  The file kind of schema key k. */
hlm_file_kind hlm_config_key_kind(int k);

/* Local.  The [[contrast]] tables (src/config_contrast.c): `array` is the
 * value of `contrast` in the document, written at line:col of `file`. */
hlm_status hlm_config_read_contrasts(hlm_config *cfg, const char *file,
                                     const hlm_toml_value *array, int line,
                                     int col);
/* Local.  Free cfg's contrasts (cfg->contrast NULL, ncontrast 0). */
void hlm_config_free_contrasts(hlm_config *cfg);

/* Local.  The [[lrt]] tables (src/config_lrt.c), as the contrasts. */
hlm_status hlm_config_read_lrts(hlm_config *cfg, const char *file,
                                const hlm_toml_value *array, int line, int col);
/* Local.  Free cfg's tests (cfg->lrt NULL, nlrt 0). */
void hlm_config_free_lrts(hlm_config *cfg);

/* Local.  A KEY_NUMBER_TABLE value (src/config_numtab.c) into *t (freed
 * first); `key` names it in messages. */
hlm_status hlm_config_read_numtab(const char *file, const char *key,
                                  const hlm_toml_value *tv,
                                  hlm_config_numtab *t);
/* Local.  NULL-safe on t's members; zeroes *t. */
void hlm_config_free_numtab(hlm_config_numtab *t);
/* Local (survey_config.c).  The [survey] section against the rest of
 * cfg: method "reml" given explicitly, [data] weights or known_sd,
 * profile intervals, [[lrt]] and df other than "asymptotic" are refused;
 * method defaults to ML with a survey design. */
hlm_status hlm_config_check_survey(const char *file, hlm_config *cfg);

/* Local.  A KEY_MATRIX value (src/config_matrix.c) into *t (freed first). */
hlm_status hlm_config_read_matrix(const char *file, const char *key,
                                  const hlm_toml_value *tv,
                                  hlm_config_matrix *t);
/* Local.  NULL-safe on t's members; zeroes *t. */
void hlm_config_free_matrix(hlm_config_matrix *t);
/* Local.  A KEY_SCALE_MATRIX value: a positive number s (stored with
 * t->number set) or an array of arrays as hlm_config_read_matrix. */
hlm_status hlm_config_read_scale_matrix(const char *file, const char *key,
                                        const hlm_toml_value *tv,
                                        hlm_config_matrix *t);
/* Local.  *t := the number s (freed first). */
hlm_status hlm_config_scale_matrix_number(hlm_config_matrix *t, double s);

#endif /* HLM_CONFIG_INTERNAL_H */

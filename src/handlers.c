/* handlers.c: route third-party library errors into the hlm error record.
 * Kept apart from error.c so that the pure modules (toml, formula) link
 * without GSL or HDF5. */
#include "hlm/error.h"

#include <gsl/gsl_errno.h>
#include <hdf5.h>

/* GSL calls this instead of abort(): record the error; the GSL routine then
 * returns its error code, which the caller turns into HLM_ERR_GSL. */
static void gsl_handler(const char *reason, const char *file, int line,
                        int gsl_errno)
{
  hlm_error_set_at(HLM_ERR_GSL, file, line, "gsl", "GSL: %s (%s)", reason,
                   gsl_strerror(gsl_errno));
}

void hlm_error_install_handlers(void)
{
  gsl_set_error_handler(gsl_handler);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

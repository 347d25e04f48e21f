/* version.c: the program version and the library versions it links. */
#include "hlm/version.h"

#include <gsl/gsl_version.h>
#include <hdf5.h>
#include <mpi.h>
#include <nlopt.h>
#include <string.h>

/* OpenBLAS reports its build configuration (version, core, threading). */
char *openblas_get_config(void);

const char *hlm_version(void)
{
  return HLM_VERSION_STRING;
}

static void print_mpi(FILE *out)
{
  char lib[MPI_MAX_LIBRARY_VERSION_STRING] = "";
  int len = 0;
  MPI_Get_library_version(lib, &len);
  char *nl = strchr(lib, '\n');
  if (nl) {
    *nl = '\0';
  }
  fprintf(out, "  MPI        %s (standard %d.%d)\n", lib, MPI_VERSION,
          MPI_SUBVERSION);
}

static void print_hdf5(FILE *out)
{
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  fprintf(out, "  HDF5       %u.%u.%u (built with %d.%d.%d, parallel)\n", maj,
          min, rel, H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_RELEASE);
}

void hlm_version_print(FILE *out)
{
  int nmaj = 0, nmin = 0, nbug = 0;
  nlopt_version(&nmaj, &nmin, &nbug);
  fprintf(out, "hlm-mpi %s\n", HLM_VERSION_STRING);
  print_mpi(out);
  print_hdf5(out);
  fprintf(out, "  GSL        %s (built with %s)\n", gsl_version, GSL_VERSION);
  fprintf(out, "  OpenBLAS   %s\n", openblas_get_config());
  fprintf(out, "  ScaLAPACK  %s\n", HLM_SCALAPACK_VERSION_STRING);
  fprintf(out, "  NLopt      %d.%d.%d\n", nmaj, nmin, nbug);
}

/* mpi_defaults.c: a faster Open MPI start-up on machines without a
 * high-speed network (mpi_defaults.h). */
#include "mpi_defaults.h"

#include <dirent.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A device of InfiniBand/RoCE (also AWS EFA) or Omni-Path. */
static int has_fabric(void)
{
  DIR *dir = opendir("/sys/class/infiniband");
  int found = 0;
  if (dir != NULL) {
    struct dirent *e;
    while (!found && (e = readdir(dir)) != NULL) {
      found = e->d_name[0] != '.';
    }
    closedir(dir);
  }
  return found || access("/dev/hfi1_0", F_OK) == 0 ||
         access("/dev/infiniband", F_OK) == 0;
}

/* Does an Open MPI parameter file choose the pml itself?  An exclusion
 * such as Debian's own "pml = ^ucx" is not a choice. */
static int file_sets_pml(const char *path)
{
  FILE *f = fopen(path, "r");
  char line[512];
  int found = 0;
  if (f == NULL) {
    return 0;
  }
  while (!found && fgets(line, sizeof line, f) != NULL) {
    const char *s = line + strspn(line, " \t");
    if (strncmp(s, "pml", 3) == 0 && strchr(" \t=", s[3]) != NULL) {
      s += 3 + strspn(s + 3, " \t");
      s += *s == '=' ? 1 : 0;
      s += strspn(s, " \t");
      found = *s != '^';
    }
  }
  fclose(f);
  return found;
}

static int user_sets_pml(void)
{
  char path[4096];
  const char *home = getenv("HOME");
  if (home != NULL) {
    snprintf(path, sizeof path, "%s/.openmpi/mca-params.conf", home);
    if (file_sets_pml(path)) {
      return 1;
    }
  }
  return getenv("OMPI_MCA_pml") != NULL ||
         file_sets_pml("/etc/openmpi/openmpi-mca-params.conf");
}

void hlm_mpi_defaults(void)
{
  const char *off = getenv("HLM_MPI_DEFAULTS");
#ifdef OPEN_MPI
  if ((off == NULL || strcmp(off, "0") != 0) && !user_sets_pml() &&
      !has_fabric()) {
    setenv("OMPI_MCA_pml", "ob1", 0);
  }
#else
  (void)off;
#endif
}

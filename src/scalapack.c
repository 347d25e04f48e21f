/* scalapack.c: the BLACS process grid (scalapack.h). */
#include "scalapack.h"

#include <stdlib.h>

#include "hlm/comm.h"

int hlm_grid_numroc(const hlm_grid *g, int n, int iproc, int nprocs)
{
  int nb = g->nb, src = 0;
  return numroc_(&n, &nb, &iproc, &src, &nprocs);
}

hlm_status hlm_grid_desc(const hlm_grid *g, int m, int n, int lld, int *desc)
{
  hlm_status status = HLM_OK;
  int nb = g->nb, src = 0, info = 0;
  lld = lld > 0 ? lld : 1;
  descinit_(desc, &m, &n, &nb, &nb, &src, &src, &g->ctxt, &lld, &info);
  HLM_CHECK(info == 0, HLM_ERR_INTERNAL, "descinit: argument %d is illegal",
            -info);
cleanup:
  return status;
}

hlm_status hlm_grid_create(MPI_Comm comm, hlm_grid **out)
{
  hlm_status status = HLM_OK;
  hlm_grid *g = NULL;
  int size = 0, rank = 0;
  *out = NULL;
  HLM_MPI(MPI_Comm_size(comm, &size));
  HLM_MPI(MPI_Comm_rank(comm, &rank));
  HLM_ALLOC(g, 1);
  g->comm = comm;
  g->ctxt = -1;
  g->size = size;
  const char *env = getenv("HLM_SCALAPACK_NB");
  g->nb = env != NULL && atoi(env) > 0 ? atoi(env) : HLM_SCALAPACK_NB;
  g->nprow = 1;
  for (int r = 1; r * r <= size; r++) {
    g->nprow = size % r == 0 ? r : g->nprow;
  }
  g->npcol = size / g->nprow;
  g->handle = Csys2blacs_handle(comm);
  g->ctxt = g->handle;
  Cblacs_gridinit(&g->ctxt, "Row", g->nprow, g->npcol);
  int pr = 0, pc = 0;
  Cblacs_gridinfo(g->ctxt, &pr, &pc, &g->myrow, &g->mycol);
  /* the layout the reduction assumes: (pr, pc) is rank pr * npcol + pc */
  HLM_CHECK(pr == g->nprow && pc == g->npcol &&
                g->myrow * g->npcol + g->mycol == rank,
            HLM_ERR_INTERNAL,
            "the BLACS grid is not the row-major %d x %d grid of the "
            "communicator (rank %d at %d, %d)",
            g->nprow, g->npcol, rank, g->myrow, g->mycol);
  *out = g;
  g = NULL;
cleanup:
  hlm_grid_destroy(&g);
  return hlm_comm_agree(comm, status, "the ScaLAPACK process grid", NULL);
}

void hlm_grid_destroy(hlm_grid **gp)
{
  if (gp == NULL || *gp == NULL) {
    return;
  }
  hlm_grid *g = *gp;
  if (g->ctxt >= 0) {
    Cblacs_gridexit(g->ctxt);
    Cfree_blacs_system_handle(g->handle);
  }
  free(g);
  *gp = NULL;
}

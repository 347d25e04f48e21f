/* scalapack.h: a BLACS process grid on an MPI communicator and the
 * ScaLAPACK/BLACS routines hlm-mpi uses (Debian's libscalapack-openmpi,
 * which contains BLACS), declared here since ScaLAPACK ships no C header.
 *
 * Matrices are block-cyclic with square NB x NB blocks (HLM_SCALAPACK_NB),
 * on a near-square nprow x npcol grid in row-major order: grid position
 * (pr, pc) is rank pr * npcol + pc of the communicator.  Global indices are
 * 0-based here; the Fortran routines take 1-based ones.  Not installed. */
#ifndef HLM_SCALAPACK_H
#define HLM_SCALAPACK_H

#include <mpi.h>
#include <stdint.h>

#include "hlm/error.h"

/* Block size of the distributed global system (rows and columns); the
 * environment's HLM_SCALAPACK_NB changes it (a testing knob: small blocks
 * spread the small reference systems over every rank). */
#define HLM_SCALAPACK_NB 64

/* ---- BLACS and ScaLAPACK (Fortran calling convention) ------------------ */

int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_gridinit(int *context, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int context, int *nprow, int *npcol, int *myrow,
                     int *mycol);
void Cblacs_gridexit(int context);
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc,
            const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb,
               const int *nb, const int *irsrc, const int *icsrc,
               const int *ictxt, const int *lld, int *info);
void pdpotrf_(const char *uplo, const int *n, double *a, const int *ia,
              const int *ja, const int *desca, int *info);
void pdpotri_(const char *uplo, const int *n, double *a, const int *ia,
              const int *ja, const int *desca, int *info);
void pdtrsm_(const char *side, const char *uplo, const char *transa,
             const char *diag, const int *m, const int *n, const double *alpha,
             const double *a, const int *ia, const int *ja, const int *desca,
             double *b, const int *ib, const int *jb, const int *descb);

/* ---- the grid ------------------------------------------------------------ */

typedef struct hlm_grid {
  MPI_Comm comm; /* not owned */
  int handle;    /* BLACS system handle of comm */
  int ctxt;      /* BLACS context */
  int nprow, npcol, myrow, mycol;
  int size; /* nprow * npcol: the ranks of comm */
  int nb;   /* block size */
} hlm_grid;

/* Collective on comm.  A near-square grid (nprow the largest divisor of
 * the rank count not above its square root) over all ranks of comm.
 * *out is owned by the caller (hlm_grid_destroy).  Errors are agreed. */
hlm_status hlm_grid_create(MPI_Comm comm, hlm_grid **out);
/* Local (BLACS: collective on the grid).  NULL-safe; sets *g to NULL. */
void hlm_grid_destroy(hlm_grid **g);

/* Local.  The rows (or columns) of an n-row block-cyclic matrix held by
 * grid row (or column) iproc of nprocs. */
int hlm_grid_numroc(const hlm_grid *g, int n, int iproc, int nprocs);
/* Local.  Grid row (or column) owning global index i, its local index
 * there, and back: the global index of local index l on iproc. */
static inline int hlm_grid_owner(const hlm_grid *g, int64_t i, int nprocs)
{
  return (int)((i / g->nb) % nprocs);
}
static inline int64_t hlm_grid_local(const hlm_grid *g, int64_t i, int nprocs)
{
  return (i / ((int64_t)g->nb * nprocs)) * g->nb + i % g->nb;
}
static inline int64_t hlm_grid_global(const hlm_grid *g, int64_t l, int iproc,
                                      int nprocs)
{
  return (l / g->nb) * (int64_t)g->nb * nprocs + (int64_t)iproc * g->nb +
         l % g->nb;
}

/* Local.  desc := the descriptor of an m x n matrix on the grid whose
 * local part has leading dimension lld. */
hlm_status hlm_grid_desc(const hlm_grid *g, int m, int n, int lld, int *desc);

#endif /* HLM_SCALAPACK_H */

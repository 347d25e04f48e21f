/* mpi_defaults.h: Open MPI defaults set before MPI_Init.
 *
 * Open MPI 4 tries every point-to-point layer at MPI_Init (UCX, the
 * libfabric/PSM "cm" layer, then ob1) even on a machine with no fabric for
 * the first two: about 0.3 s of every start-up, a third of a 10^6-row fit.
 * On such a machine (no /sys/class/infiniband device, no Omni-Path
 * /dev/hfi1_0) the answer is always ob1 (shared memory and TCP), so it is
 * chosen directly, unless the user chose a pml (OMPI_MCA_pml, or a pml
 * line in ~/.openmpi/mca-params.conf or /etc/openmpi/openmpi-mca-params.conf;
 * an exclusion such as Debian's "pml = ^ucx" is not a choice) or set
 * HLM_MPI_DEFAULTS=0.  Every rank decides from its own host, and the hosts of
 * one job are alike. */
#ifndef HLM_MPI_DEFAULTS_H
#define HLM_MPI_DEFAULTS_H

/* Set the defaults (OMPI_MCA_pml=ob1 when they apply). */
void hlm_mpi_defaults(void);

#endif

/* smallblas.h: BLAS and LAPACK calls for the tiny matrices of one cluster.
 *
 * Each hlm_X takes exactly the arguments of cblas_X (column-major only) or
 * LAPACKE_X.  Below a few thousand flops the work is done by plain loops in
 * the caller's thread; above it the call goes to the real BLAS/LAPACK.  A
 * fit absorbs every cluster (q x q blocks, q often 1 or 2) at every
 * criterion evaluation: there OpenBLAS spends more time in its call
 * overhead (argument checks, buffer allocation behind a mutex) than in
 * arithmetic.  Results can differ from the BLAS in the last bits (another
 * order of summation), never more. */
#ifndef HLM_SMALLBLAS_H
#define HLM_SMALLBLAS_H

#include <cblas.h>

void hlm_dgemm(CBLAS_LAYOUT layout, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb,
               int m, int n, int k, double alpha, const double *a, int lda,
               const double *b, int ldb, double beta, double *c, int ldc);
void hlm_dgemv(CBLAS_LAYOUT layout, CBLAS_TRANSPOSE ta, int m, int n,
               double alpha, const double *a, int lda, const double *x,
               int incx, double beta, double *y, int incy);
void hlm_dsyrk(CBLAS_LAYOUT layout, CBLAS_UPLO uplo, CBLAS_TRANSPOSE trans,
               int n, int k, double alpha, const double *a, int lda,
               double beta, double *c, int ldc);
void hlm_dtrmm(CBLAS_LAYOUT layout, CBLAS_SIDE side, CBLAS_UPLO uplo,
               CBLAS_TRANSPOSE ta, CBLAS_DIAG diag, int m, int n, double alpha,
               const double *a, int lda, double *b, int ldb);
void hlm_dtrsm(CBLAS_LAYOUT layout, CBLAS_SIDE side, CBLAS_UPLO uplo,
               CBLAS_TRANSPOSE ta, CBLAS_DIAG diag, int m, int n, double alpha,
               const double *a, int lda, double *b, int ldb);
void hlm_dtrmv(CBLAS_LAYOUT layout, CBLAS_UPLO uplo, CBLAS_TRANSPOSE ta,
               CBLAS_DIAG diag, int n, const double *a, int lda, double *x,
               int incx);
void hlm_dtrsv(CBLAS_LAYOUT layout, CBLAS_UPLO uplo, CBLAS_TRANSPOSE ta,
               CBLAS_DIAG diag, int n, const double *a, int lda, double *x,
               int incx);

/* LAPACKE_dpotrf / dtrtri / dpotri with layout LAPACK_COL_MAJOR ('L' or
 * 'U'; dtrtri 'N' or 'U').  Small: plain loops and LAPACK's info (> 0: the
 * leading minor of that order is not positive definite, or a zero
 * diagonal); no LAPACKE NaN scan (a NaN makes a pivot fail instead). */
int hlm_dpotrf(int layout, char uplo, int n, double *a, int lda);
int hlm_dtrtri(int layout, char uplo, char diag, int n, double *a, int lda);
int hlm_dpotri(int layout, char uplo, int n, double *a, int lda);

#endif

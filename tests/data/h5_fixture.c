/* h5_fixture.c: write an HDF5 file the way other tools do, straight through
 * the HDF5 API (not through hlm-mpi), for the `info` tests:
 *
 *   /data  site   fixed-length strings, space padded (as Fortran and some R
 *                 writers), one empty (missing)
 *          code   int8 codes with a fixed-length `levels` attribute, one -1
 *          count  int16, one -32768 (missing: the smallest int16)
 *          small  uint8 (no missing value)
 *          x      float32, one NaN
 *          (no `columns` attribute, no `hlm_type`: types follow the datatypes)
 *   /uneven  a (5 rows), b (4 rows)
 *   /twod    m (2 x 3)
 *
 * usage: h5_fixture OUT.h5 */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int write1(hid_t g, const char *name, hid_t ftype, hid_t mtype,
                  hsize_t n, const void *buf)
{
  hid_t space = H5Screate_simple(1, &n, NULL);
  hid_t d =
      H5Dcreate2(g, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  int rc = d < 0 || H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0;
  H5Dclose(d);
  H5Sclose(space);
  return rc;
}

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: h5_fixture OUT.h5\n");
    return 2;
  }
  hid_t f = H5Fcreate(argv[1], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t g = H5Gcreate2(f, "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  int bad = f < 0 || g < 0;

  /* 6-byte space-padded strings: "north ", "south ", "      ", "east  " */
  const char site[] = "north south       east  north ";
  hid_t st = H5Tcopy(H5T_C_S1);
  H5Tset_size(st, 6);
  H5Tset_strpad(st, H5T_STR_SPACEPAD);
  bad |= write1(g, "site", st, st, 5, site);

  const signed char code[] = {2, 0, -1, 1, 2};
  bad |= write1(g, "code", H5T_STD_I8LE, H5T_NATIVE_SCHAR, 5, code);
  hid_t d = H5Dopen2(g, "code", H5P_DEFAULT);
  hsize_t nlev = 3;
  hid_t lt = H5Tcopy(H5T_C_S1);
  H5Tset_size(lt, 4);
  H5Tset_strpad(lt, H5T_STR_NULLPAD);
  hid_t ls = H5Screate_simple(1, &nlev, NULL);
  hid_t a = H5Acreate2(d, "levels", lt, ls, H5P_DEFAULT, H5P_DEFAULT);
  const char levels[] = "low\0mid\0high"; /* 3 x 4 bytes */
  bad |= a < 0 || H5Awrite(a, lt, levels) < 0;
  H5Aclose(a);
  H5Sclose(ls);
  H5Tclose(lt);
  H5Dclose(d);

  const short count[] = {3, -32768, 7, 0, 12};
  bad |= write1(g, "count", H5T_STD_I16LE, H5T_NATIVE_SHORT, 5, count);
  const unsigned char small[] = {0, 1, 255, 0, 3};
  bad |= write1(g, "small", H5T_STD_U8LE, H5T_NATIVE_UCHAR, 5, small);
  const float x[] = {1.5f, NAN, -2.25f, 0.0f, 1e30f};
  bad |= write1(g, "x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 5, x);
  H5Gclose(g);

  g = H5Gcreate2(f, "uneven", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const double v[] = {1, 2, 3, 4, 5};
  bad |= write1(g, "a", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 5, v);
  bad |= write1(g, "b", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 4, v);
  H5Gclose(g);

  g = H5Gcreate2(f, "twod", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t dims[2] = {2, 3};
  hid_t space = H5Screate_simple(2, dims, NULL);
  d = H5Dcreate2(g, "m", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                 H5P_DEFAULT);
  bad |= d < 0 ||
         H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0;
  H5Dclose(d);
  H5Sclose(space);
  H5Gclose(g);
  H5Tclose(st);
  bad |= H5Fclose(f) < 0;
  if (bad) {
    fprintf(stderr, "h5_fixture: writing %s failed\n", argv[1]);
    return 1;
  }
  return 0;
}

# Find the HPC stack hlm-mpi builds on.  Every failure names the Debian
# package that provides the missing piece; scripts/bootstrap.sh installs them.
find_package(PkgConfig QUIET)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: install the Debian package pkg-config")
endif()

# hlm_require_pkg(<prefix> <pkg-config module> <Debian packages> <what>)
# Creates the imported target PkgConfig::<prefix> or stops with a message.
macro(hlm_require_pkg prefix module debs what)
  pkg_check_modules(${prefix} QUIET IMPORTED_TARGET ${module})
  if(NOT ${prefix}_FOUND)
    message(FATAL_ERROR
      "${what} not found (pkg-config module '${module}').\n"
      "Install it with: apt-get install ${debs}")
  endif()
  message(STATUS "Found ${what}: ${${prefix}_VERSION} (${module})")
endmacro()

# MPI: Open MPI, through its compiler wrapper.
find_package(MPI QUIET COMPONENTS C)
if(NOT MPI_C_FOUND)
  message(FATAL_ERROR "MPI not found.\n"
    "Install Open MPI with: apt-get install libopenmpi-dev openmpi-bin")
endif()
if(NOT MPIEXEC_EXECUTABLE)
  message(FATAL_ERROR "mpirun not found: apt-get install openmpi-bin")
endif()
message(STATUS "Found MPI: ${MPI_C_VERSION} (${MPIEXEC_EXECUTABLE})")

# Parallel HDF5: the serial build cannot do collective MPI-IO, so refuse it.
hlm_require_pkg(HDF5 hdf5-openmpi "libhdf5-openmpi-dev hdf5-tools"
  "parallel HDF5 for Open MPI")
include(CheckSymbolExists)
set(CMAKE_REQUIRED_INCLUDES ${HDF5_INCLUDE_DIRS} ${MPI_C_INCLUDE_DIRS})
check_symbol_exists(H5_HAVE_PARALLEL "H5pubconf.h" HLM_HDF5_IS_PARALLEL)
unset(CMAKE_REQUIRED_INCLUDES)
if(NOT HLM_HDF5_IS_PARALLEL)
  message(FATAL_ERROR
    "The HDF5 found (${HDF5_INCLUDE_DIRS}) is not the parallel build.\n"
    "Install it with: apt-get install libhdf5-openmpi-dev")
endif()

hlm_require_pkg(SCALAPACK scalapack-openmpi "libscalapack-openmpi-dev"
  "ScaLAPACK for Open MPI")
set(HLM_SCALAPACK_VERSION "${SCALAPACK_VERSION}")
hlm_require_pkg(OPENBLAS openblas "libopenblas-dev" "OpenBLAS (BLAS and LAPACK)")
hlm_require_pkg(LAPACKE lapacke "liblapacke-dev" "LAPACKE")
hlm_require_pkg(GSL gsl "libgsl-dev" "GSL")
hlm_require_pkg(NLOPT nlopt "libnlopt-dev" "NLopt")
hlm_require_pkg(JANSSON jansson "libjansson-dev" "Jansson (JSON)")

# libcsv and Random123 ship no pkg-config file.
find_path(CSV_INCLUDE_DIR csv.h)
find_library(CSV_LIBRARY csv)
if(NOT CSV_INCLUDE_DIR OR NOT CSV_LIBRARY)
  message(FATAL_ERROR "libcsv not found: apt-get install libcsv-dev")
endif()
add_library(hlm_dep_csv INTERFACE)
target_include_directories(hlm_dep_csv INTERFACE ${CSV_INCLUDE_DIR})
target_link_libraries(hlm_dep_csv INTERFACE ${CSV_LIBRARY})

find_path(RANDOM123_INCLUDE_DIR Random123/philox.h)
if(NOT RANDOM123_INCLUDE_DIR)
  message(FATAL_ERROR "Random123 not found: apt-get install librandom123-dev")
endif()

# Unit-test framework: only needed for the tests.
hlm_require_pkg(CMOCKA cmocka "libcmocka-dev" "cmocka (unit tests)")

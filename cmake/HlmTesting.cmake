# Test helpers.  Every MPI test is registered once per rank count, so a later
# feature gets "agrees at 1, 2, 3 and 4 ranks" by construction.
#
#   hlm_add_unit_test(<name> SOURCES <files...> [LABELS <labels...>])
#       A cmocka program linked with libhlm, label "unit".
#   hlm_add_mpi_test(<name> COMMAND <program> [args...] [NP 1 2 3 4]
#                    [LABELS ...] [TIMEOUT s] [ENV VAR=value ...]
#                    [FIXTURES <fixtures required>...])
#       Runs `mpirun -n <np> --oversubscribe <program> [args...]` for each np,
#       as test <name>.np<np>, label "mpi".
#   hlm_add_script_test(<name> COMMAND <command...> [LABELS ...] [TIMEOUT s])
#       A driver script (it may call mpirun itself), label "mpi".

set(HLM_DEFAULT_NP 1 2 3 4)
# Open MPI refuses to run as root unless told; CI runs as root.  Oversubscribe
# so 4 ranks run on a 2-core machine; single-copy CMA is often not permitted in
# containers, so use plain shared-memory copies.
set(HLM_MPI_TEST_ENV
  OMPI_ALLOW_RUN_AS_ROOT=1
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  OMPI_MCA_rmaps_base_oversubscribe=1
  OMPI_MCA_btl_vader_single_copy_mechanism=none
  # ob1 (over the btls: vader, and tcp between hosts) is the PML Open MPI
  # ends up with on a machine without a fabric anyway, and what hlm-mpi
  # chooses itself there (src/cli/mpi_defaults.h); naming it here does the
  # same for the test programs: it skips the UCX and PSM probing, about 0.3 s
  # of every MPI_Init, and the suite makes over a thousand of them.  The
  # mpi_defaults test unsets it.
  OMPI_MCA_pml=ob1
  HLM_MPIEXEC=${MPIEXEC_EXECUTABLE}
  HLM_BUILD_DIR=${PROJECT_BINARY_DIR}
  HLM_SOURCE_DIR=${PROJECT_SOURCE_DIR})
if(HLM_SANITIZE)
  list(APPEND HLM_MPI_TEST_ENV
    "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0"
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:fast_unwind_on_malloc=0"
    # Open MPI and its plug-ins are built without frame pointers: unwind
    # slowly so leak reports name them (and tests/lsan.supp can match them),
    # and keep the plug-ins loaded at exit so their frames resolve.
    OMPI_MCA_mca_base_component_disable_dlclose=1)
endif()

function(hlm_add_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE hlm PkgConfig::CMOCKA)
  hlm_target_flags(${name})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "unit;${T_LABELS}" TIMEOUT 120
    ENVIRONMENT "${HLM_MPI_TEST_ENV}")
endfunction()

function(hlm_add_mpi_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "COMMAND;NP;LABELS;ENV;FIXTURES" ${ARGN})
  if(NOT T_NP)
    set(T_NP ${HLM_DEFAULT_NP})
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  foreach(np IN LISTS T_NP)
    add_test(NAME ${name}.np${np}
      COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} --oversubscribe
              ${MPIEXEC_PREFLAGS} ${T_COMMAND} ${MPIEXEC_POSTFLAGS})
    set(procs ${np})
    if(procs GREATER 2)
      set(procs 2)
    endif()
    set_tests_properties(${name}.np${np} PROPERTIES
      LABELS "mpi;${T_LABELS}" TIMEOUT ${T_TIMEOUT} PROCESSORS ${procs}
      ENVIRONMENT "${HLM_MPI_TEST_ENV};${T_ENV}")
    if(T_FIXTURES)
      set_tests_properties(${name}.np${np} PROPERTIES
        FIXTURES_REQUIRED "${T_FIXTURES}")
    endif()
  endforeach()
endfunction()

function(hlm_add_script_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "COMMAND;LABELS;ENV" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 180)
  endif()
  add_test(NAME ${name} COMMAND ${T_COMMAND})
  set_tests_properties(${name} PROPERTIES
    LABELS "mpi;${T_LABELS}" TIMEOUT ${T_TIMEOUT} PROCESSORS 2
    ENVIRONMENT "${HLM_MPI_TEST_ENV};${T_ENV}")
endfunction()

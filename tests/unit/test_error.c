/* Unit tests of the error record, status codes and local helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hlm/comm.h"
#include "hlm/error.h"

static hlm_status inner(int fail)
{
  hlm_status status = HLM_OK;
  HLM_CHECK(!fail, HLM_ERR_DATA, "column '%s' has %d missing values", "ses", 3);
cleanup:
  return status;
}

static hlm_status outer(int fail, int *reached_cleanup)
{
  hlm_status status = HLM_OK;
  HLM_TRY(inner(fail));
cleanup:
  *reached_cleanup = 1;
  return status;
}

static void test_try_records_message_and_trace(void **state)
{
  (void)state;
  int reached = 0;
  hlm_error_clear();
  assert_int_equal(outer(1, &reached), HLM_ERR_DATA);
  assert_int_equal(reached, 1);
  assert_string_equal(hlm_error_message(), "column 'ses' has 3 missing values");
  assert_int_equal(hlm_error_status(), HLM_ERR_DATA);
  const char *trace = hlm_error_trace_text();
  assert_non_null(strstr(trace, "inner"));
  assert_non_null(strstr(trace, "outer"));
  /* innermost frame first */
  assert_true(strstr(trace, "inner") < strstr(trace, "outer"));
}

static void test_success_leaves_record_alone(void **state)
{
  (void)state;
  int reached = 0;
  hlm_error_clear();
  assert_int_equal(outer(0, &reached), HLM_OK);
  assert_int_equal(reached, 1);
  assert_string_equal(hlm_error_message(), "");
  assert_int_equal(hlm_error_status(), HLM_OK);
}

static void test_strerror_names_every_status(void **state)
{
  (void)state;
  for (int s = 0; s < HLM_STATUS_COUNT; s++) {
    const char *name = hlm_strerror((hlm_status)s);
    assert_non_null(name);
    assert_true(strlen(name) > 0);
    assert_string_not_equal(name, "unknown status");
    for (int t = 0; t < s; t++) {
      assert_string_not_equal(name, hlm_strerror((hlm_status)t));
    }
  }
  assert_string_equal(hlm_strerror(HLM_STATUS_COUNT), "unknown status");
  assert_string_equal(hlm_strerror((hlm_status)-1), "unknown status");
}

static void test_exit_codes(void **state)
{
  (void)state;
  assert_int_equal(hlm_status_exit_code(HLM_OK), 0);
  assert_int_equal(hlm_status_exit_code(HLM_ERR_USAGE), 2);
  assert_int_equal(hlm_status_exit_code(HLM_ERR_NOT_IMPLEMENTED), 3);
  /* The table of docs/errors.md, written out independently. */
  static const struct {
    hlm_status s;
    int code;
  } table[] = {
      {HLM_ERR_INTERNAL, 1},   {HLM_ERR_INVALID_ARG, 1}, {HLM_ERR_CONFIG, 4},
      {HLM_ERR_PARSE, 4},      {HLM_ERR_DATA, 5},        {HLM_ERR_IO, 6},
      {HLM_ERR_HDF5, 6},       {HLM_ERR_NUMERIC, 7},     {HLM_ERR_LAPACK, 7},
      {HLM_ERR_GSL, 7},        {HLM_ERR_NOMEM, 8},       {HLM_ERR_MPI, 9},
      {HLM_ERR_OTHER_RANK, 9}, {HLM_STOPPED, 10},
  };
  int seen[HLM_STATUS_COUNT] = {0};
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    assert_int_equal(hlm_status_exit_code(table[i].s), table[i].code);
    seen[table[i].s] = 1;
  }
  /* Every failure status is in the table and exits non-zero, below the
   * shell's 126 (not executable), 127 (not found) and 128 + signal. */
  for (int s = HLM_ERR_NOT_IMPLEMENTED; s < HLM_STATUS_COUNT; s++) {
    int code = hlm_status_exit_code((hlm_status)s);
    assert_true(code >= 1 && code <= 125);
    assert_true(seen[s] || s == HLM_ERR_USAGE || s == HLM_ERR_NOT_IMPLEMENTED);
  }
  /* The categories a job script branches on are distinct. */
  int cats[] = {hlm_status_exit_code(HLM_ERR_CONFIG),
                hlm_status_exit_code(HLM_ERR_DATA),
                hlm_status_exit_code(HLM_ERR_IO),
                hlm_status_exit_code(HLM_ERR_NUMERIC),
                hlm_status_exit_code(HLM_ERR_INTERNAL),
                hlm_status_exit_code(HLM_ERR_USAGE),
                hlm_status_exit_code(HLM_ERR_NOT_IMPLEMENTED)};
  for (size_t i = 0; i < sizeof cats / sizeof cats[0]; i++) {
    for (size_t k = i + 1; k < sizeof cats / sizeof cats[0]; k++) {
      assert_int_not_equal(cats[i], cats[k]);
    }
  }
}

static void test_long_message_is_truncated_not_overflowed(void **state)
{
  (void)state;
  char big[5000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  HLM_ERROR(HLM_ERR_IO, "%s", big);
  assert_true(strlen(hlm_error_message()) < sizeof big);
  assert_true(strlen(hlm_error_message()) > 1000);
}

static void test_lapack_check(void **state)
{
  (void)state;
  assert_int_equal(hlm_lapack_check_at(0, "dpotrf", "x", "f", 1, "g"), HLM_OK);
  assert_int_equal(hlm_lapack_check_at(
                       3, "dpotrf", "S is not positive definite", "f", 1, "g"),
                   HLM_ERR_LAPACK);
  assert_non_null(strstr(hlm_error_message(), "dpotrf"));
  assert_non_null(strstr(hlm_error_message(), "info = 3"));
  assert_int_equal(hlm_lapack_check_at(-2, "dpotrf", "x", "f", 1, "g"),
                   HLM_ERR_INTERNAL);
  assert_non_null(strstr(hlm_error_message(), "argument 2"));
}

static void test_to_int(void **state)
{
  (void)state;
  int out = 7;
  assert_int_equal(hlm_to_int(2147483647LL, "n", &out), HLM_OK);
  assert_int_equal(out, 2147483647);
  assert_int_equal(hlm_to_int(-2147483648LL, "n", &out), HLM_OK);
  assert_int_equal(out, (-2147483647 - 1));
  out = 7;
  assert_int_equal(hlm_to_int(2147483648LL, "rows", &out), HLM_ERR_INTERNAL);
  assert_int_equal(out, 7);
  assert_non_null(strstr(hlm_error_message(), "rows = 2147483648"));
}

static void test_fault_point(void **state)
{
  (void)state;
  unsetenv("HLM_FAULT_INJECT");
  assert_int_equal(hlm_fault_point("data", 2), HLM_OK);
  setenv("HLM_FAULT_INJECT", "data@2", 1);
  assert_int_equal(hlm_fault_point("data", 1), HLM_OK);
  assert_int_equal(hlm_fault_point("dat", 2), HLM_OK);
  assert_int_equal(hlm_fault_point("datas", 2), HLM_OK);
  assert_int_equal(hlm_fault_point("data", 2), HLM_ERR_INTERNAL);
  assert_string_equal(hlm_error_message(), "fault injected in data on rank 2");
  setenv("HLM_FAULT_INJECT", "fit@*", 1);
  assert_int_equal(hlm_fault_point("fit", 0), HLM_ERR_INTERNAL);
  assert_int_equal(hlm_fault_point("fit", 5), HLM_ERR_INTERNAL);
  setenv("HLM_FAULT_INJECT", "nonsense", 1);
  assert_int_equal(hlm_fault_point("nonsense", 0), HLM_OK);
  unsetenv("HLM_FAULT_INJECT");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_try_records_message_and_trace),
      cmocka_unit_test(test_success_leaves_record_alone),
      cmocka_unit_test(test_strerror_names_every_status),
      cmocka_unit_test(test_exit_codes),
      cmocka_unit_test(test_long_message_is_truncated_not_overflowed),
      cmocka_unit_test(test_lapack_check),
      cmocka_unit_test(test_to_int),
      cmocka_unit_test(test_fault_point),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

# Warning and sanitizer flags, applied as PRIVATE options of our own targets
# through hlm_target_flags(); third-party headers are included as SYSTEM.
set(HLM_WARNINGS -Wall -Wextra -Wshadow -Wstrict-prototypes
  -Wmissing-prototypes -Wpointer-arith -Wformat=2)
if(HLM_WERROR)
  list(APPEND HLM_WARNINGS -Werror)
endif()

set(HLM_SANITIZER_FLAGS)
if(HLM_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "HLM_FUZZ needs clang (libFuzzer): configure with "
      "CC=clang (apt-get install clang libclang-rt-14-dev)")
  endif()
  set(HLM_SANITIZER_FLAGS -fsanitize=fuzzer-no-link,address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
elseif(HLM_SANITIZE)
  set(HLM_SANITIZER_FLAGS -fsanitize=address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
endif()

function(hlm_target_flags target)
  target_compile_options(${target} PRIVATE ${HLM_WARNINGS} ${HLM_SANITIZER_FLAGS})
  target_compile_definitions(${target} PRIVATE _POSIX_C_SOURCE=200809L)
  if(HLM_SANITIZE OR HLM_FUZZ)
    target_link_options(${target} PRIVATE ${HLM_SANITIZER_FLAGS})
  endif()
endfunction()

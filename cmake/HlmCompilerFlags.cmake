# Warning and sanitizer flags, applied as PRIVATE options of our own targets
# through hlm_target_flags(); third-party headers are included as SYSTEM.
set(HLM_WARNINGS -Wall -Wextra -Wshadow -Wstrict-prototypes
  -Wmissing-prototypes -Wpointer-arith -Wformat=2)
if(HLM_WERROR)
  list(APPEND HLM_WARNINGS -Werror)
endif()

set(HLM_SANITIZER_FLAGS)
if(HLM_SANITIZE)
  set(HLM_SANITIZER_FLAGS -fsanitize=address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
endif()

function(hlm_target_flags target)
  target_compile_options(${target} PRIVATE ${HLM_WARNINGS} ${HLM_SANITIZER_FLAGS})
  target_compile_definitions(${target} PRIVATE _POSIX_C_SOURCE=200809L)
  if(HLM_SANITIZE)
    target_link_options(${target} PRIVATE ${HLM_SANITIZER_FLAGS})
  endif()
endfunction()

# Coverage-guided fuzzing with libFuzzer (tests/fuzz, `make fuzz`). Needs clang:
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DALBEMU_FUZZ=ON -DALBEMU_BUILD_TESTS=OFF
# Everything is compiled with coverage instrumentation and AddressSanitizer (with
# LeakSanitizer) plus UndefinedBehaviorSanitizer; only the fuzz targets link libFuzzer's main.
option(ALBEMU_FUZZ "Build the libFuzzer targets of tests/fuzz (clang only)" OFF)
if(ALBEMU_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "ALBEMU_FUZZ needs clang (configure with CC=clang CXX=clang++)")
  endif()
  if(ALBEMU_SANITIZE)
    message(FATAL_ERROR "ALBEMU_FUZZ brings its own sanitizers: leave ALBEMU_SANITIZE empty")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  set(ALBEMU_TCMALLOC OFF CACHE BOOL "" FORCE)  # ASan brings its own allocator
endif()

# Called once the layers exist: one executable per tests/fuzz/fuzz_*.cc.
function(albemu_add_fuzz_targets)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.cc)
  add_custom_target(albemu_fuzz_targets)
  foreach(source ${sources})
    get_filename_component(name ${source} NAME_WE)
    add_executable(${name} ${source})
    # Each target links the lowest layer it needs, so a fuzz build compiles no more than that.
    if(name MATCHES "_session$")  # fuzz_downstream_session, fuzz_http2_session
      target_link_libraries(${name} PRIVATE albemu_net)
    else()
      target_link_libraries(${name} PRIVATE albemu_core)
    endif()
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    target_compile_definitions(${name} PRIVATE ALBEMU_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
    add_dependencies(albemu_fuzz_targets ${name})
  endforeach()
endfunction()

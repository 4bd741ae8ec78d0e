# Target helpers: warnings, engine libraries (sources globbed per folder), tests.

add_library(gemma_warnings INTERFACE)
target_compile_options(gemma_warnings INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra>
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${GEMMA_WERROR}>>:-Werror>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>)
if(NOT GEMMA_SANITIZE STREQUAL "none")
    target_compile_options(gemma_warnings INTERFACE
        $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${GEMMA_SANITIZE} -fno-omit-frame-pointer>)
    target_link_options(gemma_warnings INTERFACE -fsanitize=${GEMMA_SANITIZE})
endif()

# gemma_add_library(NAME DIRS dir... [DEPS t...] [PRIVATE_DEPS t...])
# A static library of every .cpp under the given folders (recursively); new files need no
# CMake edit. A folder without sources yields an INTERFACE library so dependents still link.
function(gemma_add_library name)
    cmake_parse_arguments(arg "" "" "DIRS;DEPS;PRIVATE_DEPS;EXCLUDE" ${ARGN})
    set(srcs)
    foreach(dir IN LISTS arg_DIRS)
        file(GLOB_RECURSE found CONFIGURE_DEPENDS ${dir}/*.cpp ${dir}/*.c)
        list(APPEND srcs ${found})
    endforeach()
    foreach(pattern IN LISTS arg_EXCLUDE)
        list(FILTER srcs EXCLUDE REGEX "${pattern}")
    endforeach()
    if(srcs)
        add_library(${name} STATIC ${srcs})
        target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/engine)
        target_link_libraries(${name} PUBLIC ${arg_DEPS} PRIVATE gemma_warnings ${arg_PRIVATE_DEPS})
    else()
        add_library(${name} INTERFACE)
        target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR}/engine)
        target_link_libraries(${name} INTERFACE ${arg_DEPS})
    endif()
endfunction()

# gemma_add_test(NAME SOURCES ... LABELS ... [DEPS ...])
# One GoogleTest executable; each TEST becomes a CTest test carrying LABELS. A test that calls
# GTEST_SKIP() is reported by CTest as skipped, never as passed.
function(gemma_add_test name)
    cmake_parse_arguments(arg "" "" "SOURCES;LABELS;DEPS" ${ARGN})
    if(NOT arg_SOURCES)
        return()
    endif()
    add_executable(${name} ${arg_SOURCES})
    target_link_libraries(${name} PRIVATE ${arg_DEPS} GTest::gtest GTest::gtest_main gemma_warnings)
    target_compile_definitions(${name} PRIVATE
        GEMMA_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data"
        GEMMA_BIN_DIR="${CMAKE_RUNTIME_OUTPUT_DIRECTORY}")
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    gtest_discover_tests(${name}
        DISCOVERY_TIMEOUT 60
        PROPERTIES LABELS "${arg_LABELS}" SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
endfunction()

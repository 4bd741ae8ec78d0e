# Build options. GPU backends turn on when their toolchain is found; override with -D.
include(CheckLanguage)

set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
    set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

# Every executable in build/bin, libraries in build/lib.
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
set(CMAKE_LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
set(CMAKE_ARCHIVE_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)

find_program(GEMMA_CCACHE ccache)
if(GEMMA_CCACHE)
    set(CMAKE_CXX_COMPILER_LAUNCHER ${GEMMA_CCACHE})
    set(CMAKE_C_COMPILER_LAUNCHER ${GEMMA_CCACHE})
    set(CMAKE_CUDA_COMPILER_LAUNCHER ${GEMMA_CCACHE})
endif()

# CUDA: on when nvcc is found (the toolkit may live in /usr/local/cuda without being on PATH).
if(NOT DEFINED CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()
check_language(CUDA)
set(gemma_cuda_default OFF)
if(CMAKE_CUDA_COMPILER)
    set(gemma_cuda_default ON)
endif()
# HIP: on when hipcc is found (Debian 12: apt install hipcc). engine/backends/hip runs hipcc
# directly: CMake 3.25's HIP language cannot be enabled on Debian's ROCm layout.
find_program(GEMMA_HIPCC hipcc)
set(gemma_hip_default OFF)
if(GEMMA_HIPCC)
    set(gemma_hip_default ON)
endif()
find_package(Vulkan QUIET COMPONENTS glslc)
set(gemma_vulkan_default OFF)
if(Vulkan_FOUND AND Vulkan_GLSLC_EXECUTABLE)
    set(gemma_vulkan_default ON)
endif()

option(GEMMA_CUDA "Build the CUDA backend" ${gemma_cuda_default})
option(GEMMA_HIP "Build the ROCm/HIP backend (from the CUDA sources, with hipcc)" ${gemma_hip_default})
option(GEMMA_VULKAN "Build the Vulkan backend" ${gemma_vulkan_default})
option(GEMMA_NATIVE "Tune the CPU backend for this machine (-march=native)" OFF)
option(GEMMA_BUILD_UI "Build the Qt desktop app" ${PROJECT_IS_TOP_LEVEL})
option(GEMMA_BUILD_TOOLS "Build local tool functions" ${PROJECT_IS_TOP_LEVEL})
option(GEMMA_BUILD_TESTS "Build the tests" ${PROJECT_IS_TOP_LEVEL})
option(GEMMA_WERROR "Treat warnings as errors" OFF)
set(GEMMA_SANITIZE "none" CACHE STRING "none | address | thread | undefined")

if(GEMMA_CUDA)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
        set(CMAKE_CUDA_ARCHITECTURES 80 86 89 90)
    endif()
    enable_language(CUDA)
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
endif()

message(STATUS "GemDesk: CUDA=${GEMMA_CUDA} (${CMAKE_CUDA_ARCHITECTURES}) HIP=${GEMMA_HIP} "
               "Vulkan=${GEMMA_VULKAN} UI=${GEMMA_BUILD_UI} tests=${GEMMA_BUILD_TESTS}")

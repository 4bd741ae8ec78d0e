#!/usr/bin/env bash
# Set up the machine, build everything and run the whole test suite (CTest, all labels).
# Incremental: reruns rebuild only what changed. GPU tests report "skipped" without a GPU.
# GEMMA_CUDA_ARCHS narrows the CUDA architectures (CI builds one: 90).
set -euo pipefail
cd "$(dirname "$0")/.."
./installer/setup.sh
extra=()
[ -n "${GEMMA_CUDA_ARCHS:-}" ] && extra+=("-DCMAKE_CUDA_ARCHITECTURES=${GEMMA_CUDA_ARCHS}")
cmake --preset dev "${extra[@]}" >/dev/null
cmake --build --preset dev
ctest --preset dev "$@"

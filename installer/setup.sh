#!/usr/bin/env bash
# GemDesk one-shot machine setup: installs every Debian 12 package the build, the tests and the
# app need. Idempotent: packages already present are skipped, so reruns take a second.
set -euo pipefail

packages=(
  # toolchain
  build-essential g++ clang cmake ninja-build ccache pkg-config git
  # engine
  libopenblas-dev libhwy-dev libsentencepiece-dev nlohmann-json3-dev
  # hip: Debian's ROCm 5.2 compiles the HIP backend (about a minute; no AMD GPU needed or used)
  hipcc libamdhip64-dev rocm-device-libs
  # vulkan (lavapipe = Mesa's CPU driver, so Vulkan runs in CI)
  libvulkan-dev vulkan-tools glslc mesa-vulkan-drivers spirv-tools
  # media
  libsndfile1-dev libsoxr-dev libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libopencv-videoio-dev portaudio19-dev
  # app / server / storage
  libcpp-httplib-dev libssl-dev libsqlite3-dev
  # ui
  qt6-base-dev qt6-declarative-dev qt6-svg-dev qt6-tools-dev qt6-tools-dev-tools qt6-multimedia-dev
  qml6-module-qtquick qml6-module-qtquick-controls qml6-module-qtquick-layouts
  qml6-module-qtquick-window qml6-module-qtquick-templates qml6-module-qtqml-workerscript
  qml6-module-qtquick-dialogs qml6-module-qttest libgl-dev
  # tests, fuzzing, benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev libfuzzer-14-dev xvfb xauth
  # Node.js + npm for tests with the official OpenAI client
  nodejs
)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# Optional GPU toolchains: reported, turned on by CMake when found.
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  echo "setup: CUDA toolkit found -> GEMMA_CUDA=ON"
fi
if command -v hipcc >/dev/null 2>&1; then
  echo "setup: hipcc found -> GEMMA_HIP=ON"
fi

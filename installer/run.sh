#!/usr/bin/env bash
# Set up, build and start GemDesk: the desktop app when a display exists, else the headless
# OpenAI-compatible server. Model: --model DIR, or $GEMDESK_MODEL, else the bundled tiny fixture.
# Other arguments go to the program (e.g. --port 8080 for the server).
set -euo pipefail
cd "$(dirname "$0")/.."
./installer/setup.sh >/dev/null
extra=()
[ -n "${GEMMA_CUDA_ARCHS:-}" ] && extra+=("-DCMAKE_CUDA_ARCHITECTURES=${GEMMA_CUDA_ARCHS}")
cmake --preset dev "${extra[@]}" >/dev/null
cmake --build --preset dev

model="${GEMDESK_MODEL:-}"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --model=*) model="${1#--model=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ -z "$model" ]; then
  model="tests/data/tiny-gemma4-chat"
  echo "NOTICE: no model configured (--model DIR or GEMDESK_MODEL); using the bundled tiny test"
  echo "        model, whose weights are random: its replies are gibberish by design."
fi
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec build/bin/gemdesk --model "$model" "${args[@]}"
fi
echo "No display found: starting the headless API server (gemdesk-server)."
exec build/bin/gemdesk-server --model "$model" "${args[@]}"

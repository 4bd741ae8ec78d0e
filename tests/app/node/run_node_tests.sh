#!/bin/sh
# Runs the openai npm client tests (fake engine, then the real one). usage: run_node_tests.sh WORK_DIR SRC_DIR FAKE_SERVER SERVER DATA_DIR
# Installs the pinned `openai` package into WORK_DIR (the build tree) first; exits 77, which CTest
# reports as skipped, when it cannot be installed (registry unreachable).
set -u
work=$1 src=$2 fake=$3 real=$4 data=$5
mkdir -p "$work"
cp "$src/package.json" "$src/openai_client.test.mjs" "$src/engine_client.test.mjs" "$src/server_process.mjs" \
   "$src/schema_validate.mjs" "$src/bench_streams.mjs" "$work/"
read_json() { node -p "try { JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'))$2 } catch (e) { '' }" "$1"; }
want=$(read_json "$work/package.json" .dependencies.openai)
have=$(read_json "$work/node_modules/openai/package.json" .version)
[ -n "$want" ] || { echo "cannot read the pinned openai version from $work/package.json"; exit 1; }
if [ "$want" != "$have" ]; then
    if ! (cd "$work" && timeout 180 npm install --no-audit --no-fund --loglevel=error >npm-install.log 2>&1); then
        echo "SKIPPED: cannot install openai@$want from the npm registry (unreachable?); npm said:"
        tail -n 5 "$work/npm-install.log"
        exit 77
    fi
fi
cd "$work" || exit 1
GEMDESK_SERVER_FAKE="$fake" GEMDESK_SERVER="$real" GEMDESK_TEST_DATA="$data" \
    exec node --test --test-concurrency=1 openai_client.test.mjs engine_client.test.mjs

#!/bin/sh
# ui_smoke: runs `gemdesk --smoke-test` on the tiny chat model with a fresh database and settings
# file, and checks that it exits 0, said "smoke: ok", and left the chat in the database file.
set -eu
gemdesk="$1"
model="$2"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
status=0
"$gemdesk" --model "$model" --db "$dir/chats.db" --settings "$dir/settings.ini" --smoke-test \
    >"$dir/out.txt" 2>&1 || status=$?
cat "$dir/out.txt"
if [ "$status" -ne 0 ]; then echo "gemdesk exited with $status"; exit 1; fi
grep -q '^smoke: ok$' "$dir/out.txt" || { echo "no 'smoke: ok' line"; exit 1; }
[ -s "$dir/chats.db" ] || { echo "no chat database written"; exit 1; }
echo "ui_smoke: passed"

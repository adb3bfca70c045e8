#!/bin/sh
# Builds the libFuzzer targets with clang, AddressSanitizer and UndefinedBehaviorSanitizer in
# build-fuzz, and runs each one for a bounded time starting from its seed corpus.
# Usage: tools/run-fuzzers.sh [seconds per target]   (default 30, or $SINOPIA_FUZZ_SECONDS)
# Inputs that reach new code are kept in build-fuzz/fuzz-corpus/<target> (the seed corpus in
# tests/fuzz/corpus is only read). A crash, leak or sanitizer report leaves the input in
# build-fuzz/fuzz-artifacts/ and makes this script fail.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-${SINOPIA_FUZZ_SECONDS:-30}}
build=build-fuzz

if ! command -v clang >/dev/null 2>&1; then
  echo "run-fuzzers: clang is needed (Debian: clang libclang-rt-14-dev)" >&2
  exit 1
fi
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" >/dev/null
else
  CC=clang meson setup "$build" -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fno-sanitize-recover=all
fi

# target:corpus-folder
targets="fuzz-json:json fuzz-safetensors-header:safetensors fuzz-sentencepiece:sentencepiece"
targets="$targets fuzz-model-info:model-info fuzz-png:png fuzz-project:project"
names=""
for t in $targets; do names="$names tests/fuzz/${t%%:*}"; done
ninja -C "$build" $names

mkdir -p "$build/fuzz-artifacts"
status=0
for t in $targets; do
  name=${t%%:*}
  corpus="$build/fuzz-corpus/$name"
  # A target's own dictionary when it has one; the safetensors header is JSON.
  dict=tests/fuzz/${t#*:}.dict
  [ -f "$dict" ] || dict=tests/fuzz/json.dict
  mkdir -p "$corpus"
  echo "== $name: $seconds s"
  # The first folder receives new inputs; the seed folder is read only.
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      G_DEBUG=fatal-warnings \
      "$build/tests/fuzz/$name" "$corpus" "tests/fuzz/corpus/${t#*:}" \
      -dict="$dict" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$name-" 2>"$build/fuzz-$name.log"; then
    tail -n 60 "$build/fuzz-$name.log" >&2
    echo "== $name FAILED (log: $build/fuzz-$name.log)" >&2
    status=1
  else
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|#[0-9]+.*DONE' "$build/fuzz-$name.log" || true
  fi
done
exit $status

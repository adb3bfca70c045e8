#!/bin/sh
# Installs what is missing (Debian packages), builds, and runs the whole test suite:
# the normal build, the same tests under AddressSanitizer + UndefinedBehaviorSanitizer,
# and the fuzz targets for a bounded time. This is what CI runs (.ci/run).
set -eu
cd "$(dirname "$0")/.."
sh tools/install-deps.sh --tests

# Warnings are errors here, not in a plain developer build.
setup () {
  dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@"
  else
    meson setup "$dir" "$@"
  fi
}

setup build -Dwerror=true
ninja -C build
meson test -C build --print-errorlogs --num-processes 2

# Sanitizers: leaks inside the Vulkan driver and loader are theirs, not ours.
setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp":print_suppressions=0 \
  meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3

if [ -x tools/run-fuzzers.sh ]; then
  sh tools/run-fuzzers.sh
fi
